//! Configuration: schema, ${VAR} seeding, validation with file:line:column errors.
