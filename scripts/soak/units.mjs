// The kinds of unit a soak writer acknowledges: the node type of its root and
// the id suffixes of the nodes, edges and `vec` vectors one call writes. A unit
// is written and retired whole.
export const UNITS = {
  node: { type: 'Note', nodes: [''], edges: [], vectors: [] },
  batch: { type: 'Batch', nodes: ['', '/x'], edges: ['/e'], vectors: ['', '/x'] },
  tx: { type: 'Tx', nodes: ['', '/b', '/c'], edges: ['/e1', '/e2'], vectors: [] },
  async: { type: 'Async', nodes: [''], edges: [], vectors: [''] },
};

export const KIND_OF_TYPE = Object.fromEntries(Object.entries(UNITS).map(([kind, u]) => [u.type, kind]));
