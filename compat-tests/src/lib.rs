//! Shared helpers for Charter's vector and interop suites.
