/// config/README.md's reference tables, generated from the declarations so they cannot drift
/// (`ConfigurationReferenceTests` fails while the committed file differs).
public enum ConfigurationReference {
    public static let beginMarker =
        "<!-- BEGIN GENERATED from ConfigurationSettings and PolicySetting: edit those, then run"
        + " BANDITD_UPDATE_CONFIG_README=1 swift test --filter ConfigurationReferenceTests -->"
    public static let endMarker = "<!-- END GENERATED -->"

    /// The settings table and the policy table, between the markers.
    public static var markdown: String {
        var lines = [beginMarker, "", "| key | environment | type | default | meaning |", "|---|---|---|---|---|"]
        for setting in ConfigurationSettings.all {
            let environment = setting.environment.map { "`\($0)`" } ?? "—"
            let value = setting.defaultText == "none" ? "none" : "`\(setting.defaultText)`"
            lines.append("| `\(setting.key)` | \(environment) | \(setting.type) | \(value) | \(setting.help) |")
        }
        lines.append(
            "| `policies` | — | array of policies, at least one | the four of CONTRACT §5 | see the policy table below |"
        )
        lines += ["", "Each entry of `policies`:", "", "| field | type | default | meaning |", "|---|---|---|---|"]
        for setting in PolicySetting.all {
            let value = setting.isRequired ? "required" : "`\(setting.defaultText)`"
            lines.append("| `\(setting.name)` | \(setting.type) | \(value) | \(setting.help) |")
        }
        lines += ["", endMarker]
        return lines.joined(separator: "\n")
    }

    /// `document` with the part between the markers replaced by `markdown`; nil without markers.
    public static func updating(_ document: String) -> String? {
        guard let begin = document.range(of: "<!-- BEGIN GENERATED"),
            let end = document.range(of: endMarker, range: begin.upperBound..<document.endIndex)
        else { return nil }
        return String(document[..<begin.lowerBound]) + markdown + String(document[end.upperBound...])
    }
}
