//! Input schemas: JSON Schema with `ui:` hints, Proton's OpenAPI subset converted to it,
//! validation with defaults, and the compatibility rules between minor versions.
