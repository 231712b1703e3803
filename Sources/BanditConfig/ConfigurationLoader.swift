import BanditCore
import Foundation

/// Reads the JSON configuration file (optional) and then the environment overrides of CONTRACT
/// section 6, as `ConfigurationSettings.all` and `PolicySetting.all` declare them. The file is
/// read by the messages' strict scanner: a duplicate key is an error, as are unknown keys (a typo
/// must not silently fall back to a default); every error names the key or variable at fault.
public enum ConfigurationLoader {
    /// The environment variables read, in the order they are applied. Documented in config/README.md.
    public static var environmentVariables: [String] { ConfigurationSettings.environmentVariables }

    public static func load(
        file: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigurationError) -> BanditdConfiguration {
        var configuration = BanditdConfiguration()
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ConfigurationError(key: file, message: "cannot read the configuration file")
            }
            configuration = try parse(json: Array(data), source: file)
        }
        try applyEnvironment(environment, to: &configuration)
        return configuration
    }

    /// Parses a configuration file's JSON text on top of the defaults.
    public static func parse(json: [UInt8], source: String = "configuration") throws(ConfigurationError)
        -> BanditdConfiguration
    {
        let root: JSONTree
        do {
            root = try JSONTree.parse(json)
        } catch {
            if error.message.hasPrefix("duplicate key") {
                throw ConfigurationError(key: error.path, message: "duplicate key (each key may appear once)")
            }
            throw ConfigurationError(key: source, message: "not valid JSON (\(error))")
        }
        guard case .object(let top) = root else {
            throw ConfigurationError(key: source, message: "the top level must be a JSON object (got \(root.kind))")
        }
        var configuration = BanditdConfiguration()
        let sections = Dictionary(grouping: ConfigurationSettings.all) { $0.path.count == 1 ? "" : $0.path[0] }
        for (name, value) in top {
            if name == "policies" {
                configuration.policies = try parsePolicies(value)
            } else if let setting = sections[""]?.first(where: { $0.key == name }) {
                try apply(setting, value, to: &configuration)
            } else if let settings = sections[name] {
                guard case .object(let members) = value else {
                    throw ConfigurationError(key: name, message: "must be an object (got \(value.kind))")
                }
                for (member, memberValue) in members {
                    let key = "\(name).\(member)"
                    guard let setting = settings.first(where: { $0.key == key }) else { throw unknown(key) }
                    try apply(setting, memberValue, to: &configuration)
                }
            } else {
                throw unknown(name)
            }
        }
        return configuration
    }

    private static func unknown(_ key: String) -> ConfigurationError {
        ConfigurationError(key: key, message: "unknown key (see config/README.md for the keys)")
    }

    private static func apply(_ setting: Setting, _ value: JSONTree, to configuration: inout BanditdConfiguration)
        throws(ConfigurationError)
    {
        do {
            try setting.applyJSON(value, &configuration)
        } catch {
            throw ConfigurationError(key: setting.key, message: error.message)
        }
    }

    /// Applies the environment overrides; an empty variable counts as unset.
    public static func applyEnvironment(
        _ environment: [String: String], to configuration: inout BanditdConfiguration
    ) throws(ConfigurationError) {
        for setting in ConfigurationSettings.all {
            guard let name = setting.environment, let text = environment[name], !text.isEmpty else { continue }
            do {
                try setting.applyText(text, &configuration)
            } catch {
                throw ConfigurationError(key: name, message: error.message)
            }
        }
    }

    private static func parsePolicies(_ value: JSONTree) throws(ConfigurationError) -> PolicyRegistry {
        guard case .array(let entries) = value else {
            throw ConfigurationError(key: "policies", message: "must be an array of policies (got \(value.kind))")
        }
        guard !entries.isEmpty else {
            throw ConfigurationError(
                key: "policies", message: "must list at least one policy (an empty list would reject every event)")
        }
        var definitions: [PolicyDefinition] = []
        for (index, entry) in entries.enumerated() {
            let path = "policies[\(index)]"
            guard case .object(let members) = entry else {
                throw ConfigurationError(key: path, message: "must be an object (got \(entry.kind))")
            }
            var definition = PolicyDefinition(name: "", algorithm: .linucb, dimension: 0)
            for setting in PolicySetting.all where setting.isRequired {
                guard members.contains(where: { $0.name == setting.name }) else {
                    throw ConfigurationError(key: "\(path).\(setting.name)", message: "is required")
                }
            }
            for (name, memberValue) in members {
                guard let setting = PolicySetting.all.first(where: { $0.name == name }) else {
                    throw unknown("\(path).\(name)")
                }
                do {
                    try setting.apply(memberValue, &definition)
                } catch {
                    throw ConfigurationError(key: "\(path).\(name)", message: error.message)
                }
            }
            definitions.append(definition)
        }
        do {
            return try PolicyRegistry(definitions)
        } catch {
            throw ConfigurationError(key: error.key, message: error.message)
        }
    }
}
