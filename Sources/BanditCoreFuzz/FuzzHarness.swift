import BanditCore
import Foundation

/// What one fuzz input means, and the invariants checked on it.
///
/// Input format: the first byte picks the subject (`byte % 8`: 0…4 the five v1 subjects in
/// `EventSubject.allCases` order, 5…7 an unknown subject); the remaining bytes are the body.
/// An empty input is skipped.
enum FuzzHarness {
    static let decoder = EventDecoder(policies: .defaults)
    /// A fixed clock so runs reproduce: 2026-04-25T12:00:00Z.
    static let now = Date(timeIntervalSince1970: 1_777_118_400)
    static let decoderReasons = Set(RejectionReason.decoderCodes)

    static func subject(for selector: UInt8) -> String {
        let index = Int(selector % 8)
        return index < EventSubject.allCases.count ? EventSubject.allCases[index].rawValue : "signals.unknown"
    }

    static func selector(for subject: EventSubject) -> UInt8 {
        UInt8(EventSubject.allCases.firstIndex(of: subject)!)
    }

    /// Decodes one input and traps (so libFuzzer reports it) if an invariant breaks:
    /// a rejection carries one of the decoder's reason codes and a non-empty one-line detail;
    /// an accepted event re-encodes with `JSONEncoder` and decodes back to the same event id.
    @discardableResult
    static func run(_ input: UnsafeRawBufferPointer) -> Result<Event, Rejection>? {
        guard let selector = input.first else { return nil }
        let subject = subject(for: selector)
        let body = UnsafeRawBufferPointer(rebasing: input.dropFirst())
        let result = decoder.decode(subject: subject, headers: [:], body: body, now: now)
        switch result {
        case .success(let event):
            precondition(event.subject.rawValue == subject, "event of the wrong subject")
            if let data = try? JSONEncoder().encode(event) {
                let again = decoder.decode(subject: subject, headers: [:], body: data, now: now)
                guard case .success(let decodedAgain) = again, decodedAgain.eventID == event.eventID else {
                    preconditionFailure("re-encoded event does not decode back: \(again)")
                }
            }
        case .failure(let rejection):
            precondition(decoderReasons.contains(rejection.reason), "unexpected reason \(rejection.reason)")
            precondition(!rejection.detail.isEmpty, "empty detail")
            precondition(!rejection.detail.unicodeScalars.contains { $0.value < 0x20 }, "control character in detail")
        }
        return result
    }
}
