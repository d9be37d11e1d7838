//! Id newtypes, so ids of different things cannot be mixed up across crates.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A registered location (a UUID).
    LocationId
);
id_type!(
    /// An entity's `metadata.uid` (a UUID), stable across refreshes.
    EntityUid
);
id_type!(
    /// One `paved up` process's identity, kept in its data directory, so a restart is the same
    /// replica (`replica-<uuid>`).
    ReplicaId
);
id_type!(
    /// A durable job (a UUIDv7: ordered by creation).
    JobId
);
