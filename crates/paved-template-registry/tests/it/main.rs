//! Integration tests of the template registry: one module per area, one test binary.

mod sources;
