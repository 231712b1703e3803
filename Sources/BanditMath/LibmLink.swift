// `Double.squareRoot()` lowers to a call to C's `sqrt` on Linux, and nothing in the standard
// library links libm: a binary that uses BanditMath without Foundation fails to link
// ("undefined reference to 'sqrt'"). Importing the C library module autolinks libm. Nothing
// from it is used directly (no I/O in this module).
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
