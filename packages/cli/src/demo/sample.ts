/** A small assistant memory: conversations, messages and the entities they mention. */
export interface SampleConversation {
  id: string;
  title: string;
  messages: Array<{ role: 'user' | 'assistant'; content: string; mentions: string[] }>;
}

export const SAMPLE_ENTITIES: Record<string, { name: string; kind: string }> = {
  espresso: { name: 'Espresso', kind: 'topic' },
  aeropress: { name: 'AeroPress', kind: 'product' },
  lisbon: { name: 'Lisbon', kind: 'place' },
  rust: { name: 'Rust', kind: 'technology' },
  lmdb: { name: 'LMDB', kind: 'technology' },
  maria: { name: 'Maria', kind: 'person' },
};

export const SAMPLE_CONVERSATIONS: SampleConversation[] = [
  {
    id: 'conv-coffee',
    title: 'Brewing better coffee',
    messages: [
      { role: 'user', content: 'My espresso tastes sour. What am I doing wrong?', mentions: ['espresso'] },
      { role: 'assistant', content: 'Sour espresso is usually under-extracted: grind finer or raise the brew temperature a little.', mentions: ['espresso'] },
      { role: 'user', content: 'Is an AeroPress a good way to make coffee when travelling?', mentions: ['aeropress'] },
      { role: 'assistant', content: 'Yes, the AeroPress is light, hard to break, and makes a clean cup with a medium-fine grind.', mentions: ['aeropress'] },
      { role: 'user', content: 'How much coffee should I use per cup?', mentions: [] },
      { role: 'assistant', content: 'Start with about 15 grams of coffee for 250 ml of water and adjust to taste.', mentions: [] },
    ],
  },
  {
    id: 'conv-lisbon',
    title: 'Planning a trip to Lisbon',
    messages: [
      { role: 'user', content: 'I am visiting Lisbon in May with Maria. Which neighbourhoods should we stay in?', mentions: ['lisbon', 'maria'] },
      { role: 'assistant', content: 'Alfama and Baixa are walkable and central; Príncipe Real is quieter with good cafés.', mentions: ['lisbon'] },
      { role: 'user', content: 'Maria loves pastries. Where can we find the best pastel de nata?', mentions: ['maria'] },
      { role: 'assistant', content: 'Try Manteigaria in Chiado, or take the tram to Belém for the original pastéis.', mentions: ['lisbon'] },
      { role: 'user', content: 'Do we need a car to get around?', mentions: [] },
      { role: 'assistant', content: 'No: trams, the metro and walking cover the centre; take the train to Sintra for a day trip.', mentions: ['lisbon'] },
    ],
  },
  {
    id: 'conv-rust',
    title: 'An embedded database in Rust',
    messages: [
      { role: 'user', content: 'Why would an embedded database in Rust use LMDB for storage?', mentions: ['rust', 'lmdb'] },
      { role: 'assistant', content: 'LMDB is a copy-on-write B+tree: crash-safe without a log, very fast reads, and many reader processes at once.', mentions: ['lmdb'] },
      { role: 'user', content: 'How do several processes write to the same LMDB file?', mentions: ['lmdb'] },
      { role: 'assistant', content: 'Writers take a lock and commit one at a time; readers never block and see the last committed snapshot.', mentions: [] },
      { role: 'user', content: 'Can Rust panics crash the Node.js process that loads the library?', mentions: ['rust'] },
      { role: 'assistant', content: 'Not if the binding catches unwinding panics and turns them into JavaScript errors.', mentions: ['rust'] },
    ],
  },
];
