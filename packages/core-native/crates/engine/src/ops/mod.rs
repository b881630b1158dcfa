//! Ops layer (placeholder doc).
pub(crate) mod backup;
pub(crate) mod compact;
pub(crate) mod load;
pub(crate) mod upgrade;
pub(crate) mod verify;
