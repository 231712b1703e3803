/// A reader of the Prometheus text exposition format 0.0.4, written for the tests: families in any
/// order, each with its HELP, TYPE and samples.
struct Exposition {
    struct Family: Equatable {
        var help: String?
        var type: String?
        /// `name{label="value",…} value` per sample, labels as written, in the order rendered.
        var samples: [String] = []
    }

    private(set) var families: [String: Family] = [:]
    /// Names in the order their TYPE lines came.
    private(set) var order: [String] = []
    private(set) var problems: [String] = []

    init(_ text: String) {
        var current: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
            let words = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
            if line.hasPrefix("# HELP "), words.count >= 3 {
                let name = String(words[2])
                if families[name]?.help != nil { problems.append("second HELP for \(name)") }
                families[name, default: Family()].help = words.count == 4 ? String(words[3]) : ""
                current = name
            } else if line.hasPrefix("# TYPE "), words.count == 4 {
                let name = String(words[2])
                if families[name]?.type != nil { problems.append("second TYPE for \(name)") }
                families[name, default: Family()].type = String(words[3])
                order.append(name)
                current = name
            } else if line.hasPrefix("#") {
                continue
            } else {
                let sampleName = String(line.prefix { $0 != "{" && $0 != " " })
                guard let family = current, Self.belongs(sampleName, to: family, type: families[family]?.type)
                else {
                    problems.append("sample outside its family: \(line)")
                    continue
                }
                families[family]?.samples.append(String(line))
            }
        }
    }

    static func belongs(_ sample: String, to family: String, type: String?) -> Bool {
        if sample == family { return true }
        guard type == "histogram" else { return false }
        return ["_bucket", "_sum", "_count"].contains { sample == family + $0 }
    }

    /// The samples of `name`, sorted, each as `series value` (e.g. `x{consumer="signals"} 3`).
    func samples(_ name: String) -> [String] { (families[name]?.samples ?? []).sorted() }

    /// The value of one series, e.g. `value("banditd_up")` or `value(#"x{consumer="signals"}"#)`.
    func value(_ series: String) -> Double? {
        let name = String(series.prefix { $0 != "{" })
        for family in families.values {
            for sample in family.samples where sample.hasPrefix(series + " ") && sample.hasPrefix(name) {
                return Double(sample.dropFirst(series.count + 1).replacingOccurrences(of: "+Inf", with: "inf"))
            }
        }
        return nil
    }
}
