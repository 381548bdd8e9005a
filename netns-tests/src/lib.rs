//! Harness for tests that run real daemons in network namespaces.
