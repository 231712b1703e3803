// Decoding + validation driver: a libFuzzer target, a replay tool and a benchmark.
//
// Normal build (`swift build --product BanditCoreFuzz`):
//   BanditCoreFuzz replay FILE...                 run fuzz inputs (e.g. crash-*) through the harness
//   BanditCoreFuzz decode SUBJECT FILE...         decode message bodies and print event or rejection
//   BanditCoreFuzz seed FIXTURES_DIR CORPUS_DIR   write fuzz seeds from JSON fixtures named {subject}[.x].json
//   BanditCoreFuzz bench [SECONDS [CASE]]         decode + validation throughput (build with -c release)
//
// libFuzzer build: add `-Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
// -Xswiftc -DBANDIT_FUZZ`; the binary then exports LLVMFuzzerTestOneInput (see README).

import BanditCore
import Foundation

#if BANDIT_FUZZ
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzHarness.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
#else
exit(Driver.main(Array(CommandLine.arguments.dropFirst())))
#endif
