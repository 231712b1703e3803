// Decoding + validation driver: a libFuzzer target, a replay tool and a benchmark.
//
// Normal build (`swift build --product BanditCoreFuzz`):
//   BanditCoreFuzz replay FILE...                 run fuzz inputs (e.g. crash-*) through the harness
//   BanditCoreFuzz decode SUBJECT FILE...         decode message bodies and print event or rejection
//   BanditCoreFuzz seed FIXTURES_DIR CORPUS_DIR   write fuzz seeds from JSON fixtures named {subject}[.x].json
//   BanditCoreFuzz bench [SECONDS [CASE]]         decode + validation throughput (build with -c release)
//
// libFuzzer build: add `-Xswiftc -sanitize=fuzzer,address -Xswiftc -DBANDIT_FUZZ`; the
// binary then has libFuzzer's main and exports LLVMFuzzerTestOneInput (see README).

import BanditCore
import Foundation

#if BANDIT_FUZZ
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
        FuzzHarness.run(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }

    /// libFuzzer's documented entry for programs that own `main` (LLVM ≥ 12).
    @_silgen_name("LLVMFuzzerRunDriver")
    func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
    ) -> CInt

    // SwiftPM links executables with `main` aliased to `BanditCoreFuzz_main`; hand it to libFuzzer.
    @_cdecl("BanditCoreFuzz_main")
    public func fuzzMain(
        _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    ) -> CInt {
        var argc = argc
        var argv = argv
        return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOneInput(data, size) }
    }
#else
    @main
    struct BanditCoreFuzzMain {
        static func main() {
            exit(Driver.main(Array(CommandLine.arguments.dropFirst())))
        }
    }
#endif
