import BanditCore
import Foundation
import Testing

@Suite("Policy registry (CONTRACT section 5)")
struct PolicyRegistryTests {
    @Test("the defaults are exactly the four shipped policies")
    func defaults() {
        let policies = PolicyRegistry.defaults.policies
        #expect(policies.map(\.name) == ["linucb_v1", "egreedy_v1", "egreedy_v2", "routing_v1"])
        #expect(policies.map(\.dimension) == [5, 7, 12, 8])
        #expect(policies.map(\.algorithm) == [.linucb, .egreedy, .egreedy, .linucb])
        #expect(policies.allSatisfy { $0.lambda == 1 && $0.version == "1.0.0" })
        #expect(PolicyRegistry.defaults["linucb_v1"]?.alpha == 1.0)
        #expect(PolicyRegistry.defaults["linucb_v1"]?.epsilon == nil)
        #expect(PolicyRegistry.defaults["egreedy_v2"]?.epsilon == 0.1)
        #expect(PolicyRegistry.defaults["egreedy_v2"]?.alpha == nil)
        #expect(PolicyRegistry.defaults["routing_v1"]?.alpha == 1.0)
        #expect(PolicyRegistry.defaults["nope"] == nil)
    }

    @Test("alpha and epsilon default per algorithm; lambda defaults to 1")
    func parameterDefaults() throws {
        let registry = try PolicyRegistry([
            PolicyDefinition(name: "a", algorithm: .linucb, dimension: 3),
            PolicyDefinition(name: "b", algorithm: .egreedy, dimension: 3),
        ])
        #expect(registry["a"]?.alpha == PolicyDefinition.defaultAlpha)
        #expect(registry["a"]?.lambda == 1)
        #expect(registry["b"]?.epsilon == PolicyDefinition.defaultEpsilon)
    }

    static let invalid: [(PolicyDefinition, String)] = [
        (PolicyDefinition(name: "p", algorithm: .linucb, dimension: 3, lambda: 0), "policies[1].lambda"),
        (PolicyDefinition(name: "p", algorithm: .linucb, dimension: 3, lambda: -1), "policies[1].lambda"),
        (PolicyDefinition(name: "p", algorithm: .linucb, dimension: 3, lambda: .nan), "policies[1].lambda"),
        (PolicyDefinition(name: "p", algorithm: .linucb, dimension: 3, lambda: .infinity), "policies[1].lambda"),
        (PolicyDefinition(name: "p", algorithm: .linucb, dimension: 3, alpha: -0.1), "policies[1].alpha"),
        (PolicyDefinition(name: "p", algorithm: .linucb, dimension: 3, alpha: .nan), "policies[1].alpha"),
        (PolicyDefinition(name: "p", algorithm: .linucb, dimension: 3, epsilon: 0.1), "policies[1].epsilon"),
        (PolicyDefinition(name: "p", algorithm: .egreedy, dimension: 3, epsilon: -0.01), "policies[1].epsilon"),
        (PolicyDefinition(name: "p", algorithm: .egreedy, dimension: 3, epsilon: 1.01), "policies[1].epsilon"),
        (PolicyDefinition(name: "p", algorithm: .egreedy, dimension: 3, epsilon: .nan), "policies[1].epsilon"),
        (PolicyDefinition(name: "p", algorithm: .egreedy, dimension: 3, alpha: 1), "policies[1].alpha"),
        (PolicyDefinition(name: "p", algorithm: .linucb, dimension: 0), "policies[1].dimension"),
        (PolicyDefinition(name: "p", algorithm: .linucb, dimension: 65), "policies[1].dimension"),
        (PolicyDefinition(name: "p", algorithm: .linucb, dimension: -1), "policies[1].dimension"),
        (PolicyDefinition(name: "p", algorithm: .linucb, dimension: 3, version: "1.0"), "policies[1].version"),
        (PolicyDefinition(name: "p", algorithm: .linucb, dimension: 3, version: "v1.0.0"), "policies[1].version"),
        (PolicyDefinition(name: "p", algorithm: .linucb, dimension: 3, version: "1.02.0"), "policies[1].version"),
        (PolicyDefinition(name: "p", algorithm: .linucb, dimension: 3, version: ""), "policies[1].version"),
        (PolicyDefinition(name: "", algorithm: .linucb, dimension: 3), "policies[1].name"),
        (PolicyDefinition(name: "has space", algorithm: .linucb, dimension: 3), "policies[1].name"),
        (PolicyDefinition(name: "a@b", algorithm: .linucb, dimension: 3), "policies[1].name"),
        (
            PolicyDefinition(name: String(repeating: "p", count: 65), algorithm: .linucb, dimension: 3),
            "policies[1].name"
        ),
        (PolicyDefinition(name: "ok", algorithm: .linucb, dimension: 3), "policies[1].name"),  // duplicate
    ]

    @Test("every field is validated and the error names the key", arguments: invalid.indices)
    func invalidDefinitions(_ index: Int) {
        let (definition, key) = Self.invalid[index]
        let first = PolicyDefinition(name: "ok", algorithm: .egreedy, dimension: 2)
        #expect {
            try PolicyRegistry([first, definition])
        } throws: { error in
            (error as? PolicyConfigurationError)?.key == key
        }
    }

    @Test("valid edge values are accepted")
    func validEdges() throws {
        _ = try PolicyRegistry([
            PolicyDefinition(name: "a", algorithm: .linucb, dimension: 1, lambda: 1e-9, alpha: 0),
            PolicyDefinition(name: "b", algorithm: .egreedy, dimension: 64, epsilon: 0),
            PolicyDefinition(name: "c", algorithm: .egreedy, dimension: 2, epsilon: 1, version: "2.1.0-rc.1+build.5"),
            PolicyDefinition(name: "A.b-c_9", algorithm: .linucb, dimension: 2, version: "0.0.0"),
        ])
        _ = try PolicyRegistry([])
    }

    @Test("PolicyDefinition decodes from configuration JSON with defaults and encodes back")
    func codable() throws {
        let json =
            #"[{"name":"x","algorithm":"linucb","dimension":4},{"name":"y","algorithm":"egreedy","dimension":2,"lambda":0.5,"epsilon":0.2,"version":"1.1.0"}]"#
        let definitions = try JSONDecoder().decode([PolicyDefinition].self, from: Data(json.utf8))
        #expect(definitions[0] == PolicyDefinition(name: "x", algorithm: .linucb, dimension: 4))
        #expect(definitions[1].lambda == 0.5 && definitions[1].epsilon == 0.2 && definitions[1].version == "1.1.0")
        let registry = try PolicyRegistry(definitions)
        let again = try JSONDecoder().decode(
            [PolicyDefinition].self, from: try JSONEncoder().encode(registry.policies))
        #expect(again == registry.policies)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(
                PolicyDefinition.self, from: Data(#"{"name":"x","algorithm":"ucb","dimension":4}"#.utf8))
        }
    }

    @Test("a configuration error describes itself as key: message")
    func errorDescription() {
        let error = PolicyConfigurationError(key: "policies[2].lambda", message: "expected a finite number > 0")
        #expect(error.description == "policies[2].lambda: expected a finite number > 0")
    }
}
