// The server launchers live in TestServers (no dependency on the Testing library, so the
// benchmark can use them too); test targets import TestSupport and get both.
@_exported import TestServers
