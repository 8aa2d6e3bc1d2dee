@testable import AgentCore
import Foundation
import Testing
import Yams

@Suite struct ConfigLoaderTests {
    let loader = ConfigLoader(environment: ["TOKEN": "sup3rs3cret", "HOST": "api.example.com"], hostname: "host-1")

    @Test func aFullConfigResolvesDefaultsExpansionAndUnits() throws {
        let tokenFile = NSTemporaryDirectory() + "token-\(UUID().uuidString)"
        try "file-token\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let config = try loader.parse(
            yaml: """
                agent:
                  node: edge-7
                  job: probes
                spool:
                  path: /tmp/spool
                  max_size: 64MiB
                defaults:
                  interval: 15s
                  timeout: 2s
                  headers:
                    X-Team: sre
                  expected_status: [200-299, 404]
                endpoints:
                  - name: api
                    url: https://${HOST}/health
                    method: post
                    body: '{"ping":true}'
                    headers:
                      x-team: platform
                    bearer_token: ${TOKEN}
                    timeout: 250ms
                    body_match: {regex: "ok|healthy"}
                    latency_threshold: 1s
                    follow_redirects: false
                    max_body_size: 64KiB
                    tls: {insecure: true}
                    ip_family: ipv4
                    connection: warm
                  - url: http://user:pw@127.0.0.1:8080/ok
                    bearer_token_file: \(tokenFile)
                    expected_status: 2xx
                """, source: "test.yaml")
        #expect(config.agent == AgentConfig(node: "edge-7", job: "probes"))
        #expect(config.spool == SpoolConfig(path: "/tmp/spool", maxSize: 64 * 1024 * 1024))
        let api = config.endpoints[0]
        #expect(api.url == "https://api.example.com/health")
        #expect(api.method == "POST")
        #expect(api.body == "{\"ping\":true}")
        #expect(api.headers == [HTTPHeader(name: "x-team", value: "platform")], "endpoint headers override defaults by name")
        #expect(api.authorization == .bearer(Secret("sup3rs3cret")))
        #expect(api.interval == .seconds(15))
        #expect(api.timeout == .milliseconds(250))
        #expect(api.expectedStatus == StatusCodeSet([200...299, 404...404]))
        #expect(api.bodyMatch == .regex("ok|healthy"))
        #expect(api.latencyThreshold == .seconds(1))
        #expect(api.redirects.follow == false)
        #expect(api.maxBodyBytes == 64 * 1024)
        #expect(api.tls.insecure)
        #expect(api.ipFamily == .ipv4)
        #expect(api.connection == .warm)
        let local = config.endpoints[1]
        #expect(local.name == "http://127.0.0.1:8080/ok", "unnamed endpoints are named by their URL without credentials")
        #expect(local.authorization == .bearer(Secret("file-token")))
        #expect(local.expectedStatus == StatusCodeSet([200...299]))
        #expect(local.headers == [HTTPHeader(name: "X-Team", value: "sre")])
        #expect(local.connection == .cold)
    }

    /// Each mistake is reported at the line and column of the value a person must fix.
    @Test(arguments: [
        ("endpoints:\n  - url: http://a/\n    timout: 5s\n", 3, 5, "unknown key \"timout\" in endpoints[0] (did you mean \"timeout\"?)"),
        ("endpoints:\n  - url: http://a/\n    interval: soon\n", 3, 15, "endpoints[0].interval must be a duration"),
        ("endpoints:\n  - url: ftp://a/\n", 2, 10, "endpoints[0].url must be a URL the agent probes: http(s)://host/path, tcp://host:port"),
        ("endpoints:\n  - url: http://a/\n    name: x\n  - url: http://b/\n    name: x\n", 5, 11, "endpoint name \"x\" is already used by the endpoint at line 2"),
        ("endpoints:\n  - url: http://a/\n    interval: 5s\n    timeout: 10s\n", 4, 14, "timeout 10s is longer than its interval 5s"),
        ("defaults:\n  timeout: 1m\nendpoints:\n  - url: http://a/\n    interval: 30s\n", 5, 15, "timeout 60s is longer than its interval 30s"),
        ("endpoints:\n  - url: http://a/\n    bearer_token_file: /nonexistent/token\n", 3, 24, "cannot read file \"/nonexistent/token\""),
        ("endpoints:\n  - url: http://${MISSING}/\n", 2, 10, "uses ${MISSING}, which is not set"),
        ("endpoints:\n  - url: http://a/\n    expected_status: [200, 700]\n", 3, 28, "endpoints[0].expected_status[1] must be a status code"),
        ("endpoints:\n  - url: http://a/\n    max_redirects: many\n", 3, 20, "must be a whole number from 0 to 50"),
        ("endpoints:\n  - url: http://a/\n    headers: [a, b]\n", 3, 14, "endpoints[0].headers must be a mapping"),
        ("endpoints:\n  - url: http://a/\n    body_match: {regex: \"(\"}\n", 3, 25, "not a valid regular expression"),
        ("endpoints:\n  - url: http://a/\n    connection: hot\n", 3, 17, "must be one of cold, warm"),
        ("endpoints:\n  - url: http://a/\n  url: http://b/\n", 3, 3, "YAML syntax"),
        ("endpoints: []\n", 1, 12, "endpoints must list at least one endpoint"),
        ("agent:\n  node: a\n", 1, 1, "the top level needs \"endpoints\""),
        ("endpoints:\n  - url: http://a/\n    url: http://b/\n", 2, 5, "key \"url\" appears more than once"),
        // A typo must not become load: intervals under agent.min_interval are refused, and say how to allow them.
        ("endpoints:\n  - url: http://a/\n    interval: 1ms\n", 3, 15,
         "interval 1ms is shorter than agent.min_interval (1s) (did you mean 1m?); to probe this often on purpose, set agent.min_interval: 1ms"),
        ("defaults: {interval: 10ms}\nendpoints:\n  - url: http://a/\n", 1, 22, "interval 10ms is shorter than agent.min_interval"),
        ("server: {address: not-an-address}\nendpoints: [{url: \"http://a/\"}]\n", 1, 19, "server.address must be an IP address"),
        ("endpoints:\n  - url: http://a:99999/\n", 2, 10, "endpoints[0].url has port 99999; ports go from 1 to 65535"),
        ("endpoints:\n  - url: \"http://a/\\0x\"\n", 2, 10, "endpoints[0].url contains a NUL byte"),
        ("endpoints:\n  - url: \"http://a/\\tx\"\n", 2, 10, "contains a control character (U+0009)"),
        ("endpoints:\n  - url: http://a/\n    proxy_url: ftp://p:21\n", 3, 16, "endpoints[0].proxy_url must be a proxy URL such as http://proxy.internal:3128"),
        ("endpoints:\n  - url: http://a/\n    no_proxy: [b]\n", 3, 15, "endpoints[0].no_proxy applies only with proxy_url"),
        ("endpoints:\n  - url: http://a/\n    proxy_url: http://p:3128\n    proxy_from_environment: true\n", 4, 29,
         "endpoints[0].proxy_from_environment and proxy_url exclude each other"),
        ("endpoints:\n  - url: http://a/\n    dns: {valid_rcodes: [NOERROR]}\n", 3, 10,
         "endpoint \"http://a/\": endpoints[0].dns applies only to dns:// endpoints"),
        ("endpoints:\n  - url: dns://127.0.0.1/a.test\n    dns: {valid_rcodes: [NOSUCH]}\n", 3, 26,
         "endpoints[0].dns.valid_rcodes[0] is \"NOSUCH\"; a response code is NOERROR, FORMERR, SERVFAIL, NXDOMAIN"),
        ("endpoints:\n  - url: dns://127.0.0.1/a.test\n    dns: {validate_answer_rrs: {fail_if_matches_regexp: [\"(\"]}}\n", 3, 58,
         "endpoints[0].dns.validate_answer_rrs.fail_if_matches_regexp[0] is not a valid regular expression"),
        ("endpoints:\n  - url: dns://resolver.test/a.test\n", 2, 10, "endpoints[0].url has server \"resolver.test\"; a DNS probe's server is an IP address"),
        ("endpoints:\n  - url: dns://127.0.0.1/a.test?type=BOGUS\n", 2, 10, "endpoints[0].url has type=BOGUS; known types: A, NS"),
        ("endpoints:\n  - url: icmp://127.0.0.1:80\n", 2, 10, "endpoints[0].url is icmp://127.0.0.1:80; an ICMP probe's URL is only a host"),
        ("endpoints:\n  - url: icmp://127.0.0.1\n    timeout: 1s\n    icmp: {packets: 11, packet_interval: 100ms}\n", 4, 11,
         "endpoint \"icmp://127.0.0.1\": 11 packets 100ms apart do not fit in its timeout 1s"),
        ("endpoints:\n  - url: http://a/\n    tcp: {tls: true}\n", 3, 10,
         "endpoint \"http://a/\": endpoints[0].tcp applies only to tcp:// and tls:// endpoints"),
        ("endpoints:\n  - url: tcp://127.0.0.1:25\n    tcp:\n      query_response:\n        - starttls: true\n", 5, 21,
         "endpoints[0].tcp.query_response[0].starttls: starttls is not supported"),
        ("endpoints:\n  - url: tcp://127.0.0.1:25\n    tcp: {query_response: [{}]}\n", 3, 28, "endpoints[0].tcp.query_response[0] needs expect, send or both"),
        ("endpoints:\n  - url: tcp://127.0.0.1:25\n    tcp: {query_response: [{expect: \"(\"}]}\n", 3, 37, "is not a valid regular expression"),
        ("endpoints:\n  - url: tcp://127.0.0.1:25\n    fail_if_body_matches: [x]\n", 3, 27,
         "endpoints[0].fail_if_body_matches checks an HTTP body, which a tcp probe does not have"),
        ("endpoints:\n  - url: dns://127.0.0.1/a.test\n    fail_if_header_matches: [{header: a, regex: b}]\n", 3, 29,
         "checks an HTTP response's headers, which a dns probe does not have; it applies to http(s):// and grpc(s):// endpoints"),
        ("endpoints:\n  - url: icmp://127.0.0.1\n    body_match: {contains: ok}\n", 3, 17,
         "endpoints[0].body_match checks an HTTP body, which a icmp probe does not have"),
        ("endpoints:\n  - url: tcp://127.0.0.1:25\n    basic_auth: {username: a, password: b}\n", 3, 17,
         "endpoint \"tcp://127.0.0.1:25\": endpoints[0].basic_auth sends credentials in HTTP, which a tcp probe does not speak"),
        ("endpoints:\n  - url: http://a/\n    bearer_token: t\n    oauth2: {client_id: a, client_secret: b, token_url: http://t/}\n", 4, 13,
         "endpoints[0].oauth2 and endpoints[0]'s other credentials exclude each other"),
        ("endpoints:\n  - url: http://a/\n    oauth2: {client_id: a, token_url: http://t/}\n", 3, 13,
         "endpoints[0].oauth2 needs exactly one of \"client_secret\" or \"client_secret_file\""),
        ("endpoints:\n  - url: http://a/\n    oauth2: {client_id: a, client_secret: b, token_url: http://t/, endpoint_params: {grant_type: x}}\n", 3, 86,
         "sets grant_type, which the agent sends itself"),
        ("endpoints:\n  - url: http://a/\n    oauth2: {client_id: a, client_secret: b}\n", 3, 13, "endpoints[0].oauth2"),
        ("outputs: {pushgateway: {url: \"http://127.0.0.1:9091\", instance_label: host}}\nendpoints: [{url: \"http://a/\"}]\n", 1, 71,
         "must be one of node, target"),
        ("endpoints:\n  - url: http://a/\n    labels: {node: a}\n", 3, 14, "label name \"node\" is set by the agent itself"),
        ("endpoint:\n  - url: http://a/\n", 1, 1, "unknown key \"endpoint\" in the top level (did you mean \"endpoints\"?)"),
        ("endpoints:\n  - url: http://a/\nagent: {nod: x}\n", 3, 9, "unknown key \"nod\" in agent (did you mean \"node\"?)"),
        ("endpoints:\n  - url: http://a/\n\u{0}\n", 3, 1, "the file contains a NUL byte; a configuration file is plain text"),
        ("x: " + String(repeating: "[", count: 70) + String(repeating: "]", count: 70) + "\n", 1, 68,
         "lists and mappings are nested 70 deep here; the agent reads at most 64 levels"),
    ])
    func mistakesNameTheirLine(yaml: String, line: Int, column: Int, message: String) {
        #expect {
            _ = try loader.parse(yaml: yaml, source: "agent.yaml")
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            #expect(error.source == "agent.yaml")
            #expect(error.line == line, "\(error)")
            #expect(error.column == column, "\(error)")
            #expect(error.message.contains(message), "\(error)")
            return true
        }
    }

    /// A TCP dialogue as blackbox writes it; the defaults' body rules reach only the endpoints
    /// that have a body, while `max_duration` reaches all.
    @Test func tcpOptionsParseAndHTTPOnlyDefaultsStayWithHTTP() throws {
        let yaml = """
            defaults:
              fail_if_body_matches: [maintenance]
              max_duration: 2s
            endpoints:
              - url: tcp://127.0.0.1:25
                tcp:
                  tls: true
                  query_response:
                    - expect: "^220"
                    - send: "QUIT\\r"
                    - {expect: "^221", send: bye}
              - url: http://a/
            """
        let config = try loader.parse(yaml: yaml, source: "x")
        let tcp = config.endpoints[0]
        #expect(tcp.tcp == TCPOptions(tls: true, queryResponse: [.init(expect: "^220"), .init(send: "QUIT\r"), .init(expect: "^221", send: "bye")]))
        #expect(tcp.conditions == ResponseConditions(maxDuration: .seconds(2)))
        #expect(config.endpoints[1].conditions.failIfBodyMatches == ["maintenance"])
        #expect(config.endpoints[1].tcp == TCPOptions())
    }

    /// Prometheus' `oauth2` keys; the defaults' credentials reach only the endpoints that speak HTTP.
    @Test func oauth2ParsesAndDefaultsCredentialsStayWithHTTP() throws {
        let secretFile = NSTemporaryDirectory() + "oauth2-\(UUID().uuidString)"
        try "from-file\n".write(toFile: secretFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: secretFile) }
        let yaml = """
            defaults:
              oauth2:
                client_id: prober
                client_secret_file: \(secretFile)
                token_url: https://127.0.0.1:8443/oauth/token
                scopes: [read, probe]
                endpoint_params: {audience: api}
                tls: {insecure: true}
            endpoints:
              - url: http://a/
              - url: grpc://127.0.0.1:50051
              - url: dns://127.0.0.1/a.test
            """
        let config = try loader.parse(yaml: yaml, source: "x")
        let expected = OAuth2Config(
            clientID: "prober", clientSecret: Secret("from-file"), tokenURL: "https://127.0.0.1:8443/oauth/token",
            scopes: ["read", "probe"], endpointParams: ["audience": "api"], tls: TLSConfig(insecure: true))
        #expect(config.endpoints[0].authorization == .oauth2(expected))
        #expect(config.endpoints[1].authorization == .oauth2(expected))
        #expect(config.endpoints[2].authorization == nil)
        #expect(config.endpoints[0].secrets.contains("from-file"))
    }

    @Test func anIntervalUnderOneSecondNeedsMinIntervalSaidExplicitly() throws {
        let config = try loader.parse(yaml: "agent: {min_interval: 100ms}\nendpoints:\n  - {url: http://a/, interval: 250ms}\n", source: "x")
        #expect(config.endpoints[0].interval == .milliseconds(250))
        #expect(config.endpoints[0].timeout == .milliseconds(250), "the default timeout shrinks to the interval")
    }

    @Test func aConfigPastTheDocumentedLimitsIsRefusedBeforeItCostsMemory() throws {
        let many = "endpoints:\n" + (0...Configuration.maxEndpoints).map { "- {url: \"http://a/\($0)\"}" }.joined(separator: "\n")
        #expect {
            try loader.parse(yaml: many, source: "big.yaml")
        } throws: { error in
            let message = (error as? ConfigError)?.message ?? ""
            return message.contains("lists 50001 endpoints; one agent probes at most 50000") && (error as? ConfigError)?.line == 2
        }
        let path = NSTemporaryDirectory() + "huge-\(UUID().uuidString).yaml"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(repeating: UInt8(ascii: "#"), count: ConfigLoader.maxFileBytes + 1)))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect {
            try loader.load(path: path)
        } throws: { ($0 as? ConfigError)?.message.contains("the agent reads at most 16777216 (16 MiB)") == true }
    }

    @Test func credentialLikeQueryParametersAreRedactedInNamesAndDisplay() throws {
        let config = try loader.parse(yaml: """
            agent: {redact_query_params: [token, session]}
            endpoints:
              - url: "http://a/?token=t0k&session=s3ss&page=1"
            """, source: "x")
        #expect(config.endpoints[0].name == "http://a/?token=<redacted>&session=<redacted>&page=1")
        #expect(config.endpoints[0].displayURL == config.endpoints[0].name)
        #expect(config.endpoints[0].url.contains("t0k"), "the request itself still carries it")
    }

    @Test func thePushgatewayOutputIsConfiguredWithDefaultsAndChecks() throws {
        let config = try loader.parse(
            yaml: """
                spool: {retain: 2h}
                outputs:
                  pushgateway:
                    url: https://gateway.example.com:9091
                    push_interval: 30s
                    buckets: [0.1, 0.5, 2]
                    gzip: true
                    instance_label: target
                    basic_auth: {username: agent, password: "${TOKEN}"}
                    tls: {insecure: true}
                endpoints: [{url: "http://a/"}]
                """, source: "x")
        let pushgateway = try #require(config.outputs.pushgateway)
        #expect(pushgateway.connection.url == "https://gateway.example.com:9091")
        #expect(pushgateway.connection.authorization == .basic(username: "agent", password: Secret("sup3rs3cret")))
        #expect(pushgateway.connection.tls.insecure)
        #expect(pushgateway.connection.timeout == .seconds(10))
        #expect(pushgateway.pushInterval == .seconds(30))
        #expect(pushgateway.buckets == [0.1, 0.5, 2])
        #expect(pushgateway.gzip && !pushgateway.deleteOnShutdown)
        #expect(pushgateway.instanceLabel == .target)
        #expect(pushgateway.uptimeWindow == .seconds(3600))
        #expect(config.spool.retain == .seconds(7200))
        #expect(config.outputs.readerNames == [.pushgateway])
        #expect(try loader.parse(yaml: "endpoints: [{url: \"http://a/\"}]", source: "x").outputs.readerNames.isEmpty)

        let unordered = "outputs:\n  pushgateway:\n    url: http://g/\n    buckets: [1, 0.5]\n"
        #expect(throws: ConfigError(source: "x", line: 4, column: 18, message: "outputs.pushgateway.buckets[1] must be a number of seconds above 0 and above the bucket before it, found \"0.5\"")) {
            try loader.parse(yaml: unordered + "endpoints: [{url: \"http://a/\"}]", source: "x")
        }
        #expect(throws: ConfigError.self) {
            try loader.parse(yaml: "outputs: {pushgateway: {url: http://g/, interval: 5s}}\nendpoints: [{url: \"http://a/\"}]", source: "x")
        }
        let seed = try ConfigLoader(environment: ["API_URL_1": "http://a/", "PUSHGATEWAY_URL": "http://gw:9091"], hostname: "h").loadSeedEnvironment()
        #expect(seed.outputs.pushgateway?.connection.url == "http://gw:9091")
    }

    @Test func alertingRulesReceiversAndMaintenanceAreConfigured() throws {
        let config = try loader.parse(
            yaml: """
                alerting:
                  rules: {failures: 5, error_rate_above: 10%, uptime_below: "off"}
                  grouping_window: 30s
                  remind_every: 4h
                  maintenance:
                    - {every: sunday, from: "02:00", to: "03:00"}
                    - {from: 2026-12-01T02:00:00Z, to: 2026-12-01T04:00:00Z}
                  slack:
                    - name: oncall
                      webhook_url: https://hooks.slack.com/services/T/B/${TOKEN}
                      endpoints: [api]
                      link: https://grafana/d/x?var-endpoint={endpoint}
                endpoints:
                  - name: api
                    url: http://a/
                    alerts: {failures: 2, quantile_above: 300ms}
                  - url: http://b/
                  - url: http://c/
                    latency_threshold: 250ms
                """, source: "x")
        let alerting = try #require(config.alerting)
        let api = config.endpoints[0].alertRules
        let b = config.endpoints[1].alertRules
        #expect(api.failures == 2, "the endpoint's alerts block wins")
        #expect(api.quantileAbove == .milliseconds(300))
        #expect(api.errorRateAbove == 10, "and inherits the rest")
        #expect(b.failures == 5)
        #expect(b.uptimeBelow == nil)
        #expect(api.slowAbove == .seconds(1) && config.endpoints[2].alertRules.slowAbove == .milliseconds(250),
                "the slow threshold is the endpoint's latency_threshold, settled at load")
        #expect(alerting.groupingWindow == .seconds(30) && alerting.remindEvery == .seconds(14400))
        #expect(alerting.maintenance == [
            .weekly(weekday: 0, startMinute: 120, endMinute: 180),
            .once(start: Timestamp(unixSeconds: 1_796_090_400), end: Timestamp(unixSeconds: 1_796_097_600)),
        ])
        #expect(alerting.receivers.map(\.name) == ["oncall"] && alerting.receivers[0].endpoints == ["api"])
        #expect(config.spoolReaders == [.alertEvaluator] && config.receiverReaders == [.receiver(.slack, "oncall")])
        #expect(!"\(config)".contains("sup3rs3cret"), "the webhook URL is a secret")
        for (yaml, fragment) in [
            ("alerting: {slack: [{webhook_url: 'http://x/', endpoints: [nope]}]}", "no endpoint is named"),
            ("alerting: {maintenance: [{every: funday, from: '01:00', to: '02:00'}]}", "must be a weekday"),
            ("alerting: {rules: {error_rate_above: 150%}}", "must be a percentage"),
            ("alerting: {slack: [{webhook_url: not-a-url}]}", "it is not shown: it is a secret"),
        ] {
            #expect {
                try loader.parse(yaml: yaml + "\nendpoints: [{url: \"http://a/\"}]", source: "x")
            } throws: { ($0 as? ConfigError)?.message.contains(fragment) == true }
        }
        #expect(try loader.parse(yaml: "endpoints: [{url: \"http://a/\"}]", source: "x").alerting == nil)
    }

    @Test func theServerIsOnByDefaultAndCanBeMovedOrTurnedOff() throws {
        let endpoints = "endpoints: [{url: \"http://a/\"}]\n"
        #expect(try loader.parse(yaml: endpoints, source: "x").server == ServerConfig(address: "0.0.0.0", port: 9473))
        #expect(try loader.parse(yaml: "server: {address: 127.0.0.1, port: 8080}\n" + endpoints, source: "x").server == ServerConfig(address: "127.0.0.1", port: 8080))
        #expect(try loader.parse(yaml: "server: {address: \"::1\", port: 8080}\n" + endpoints, source: "x").server?.address == "::1")
        let defaults = try #require(try loader.parse(yaml: endpoints, source: "x").server)
        #expect(!defaults.enableReload, "POST /-/reload is opt-in")
        #expect(try loader.parse(yaml: "server: {enable_reload: true}\n" + endpoints, source: "x").server?.enableReload == true)
        #expect(try loader.parse(yaml: "server: {enabled: false}\n" + endpoints, source: "x").server == nil)
        #expect(throws: ConfigError.self) { try loader.parse(yaml: "server: {port: 70000}\n" + endpoints, source: "x") }
        #expect(try ConfigLoader(environment: ["API_URL_1": "http://a/"], hostname: "h").loadSeedEnvironment().server != nil, "the seed served /health too")
    }

    @Test func theLokiOutputIsConfiguredAndItsLabelsChecked() throws {
        let config = try loader.parse(
            yaml: """
                outputs:
                  loki:
                    url: http://loki:3100/loki/api/v1/push
                    tenant: team-a
                    labels: {cluster: prod, region: eu}
                    batch_size: 512KiB
                    batch_wait: 2s
                    bearer_token: "${TOKEN}"
                endpoints: [{url: "http://a/"}]
                """, source: "x")
        let loki = try #require(config.outputs.loki)
        #expect(loki.tenant == "team-a")
        #expect(loki.labels.map(\.name) == ["cluster", "region"])
        #expect(loki.batchSize == 512 * 1024 && loki.batchWait == .seconds(2) && loki.gzip)
        #expect(loki.connection.authorization == .bearer(Secret("sup3rs3cret")))
        #expect(config.outputs.readerNames == [.loki])
        #expect(loki.maxBackoff == .seconds(5), "delivery resumes within 5 s of Loki's return")
        for (labels, fragment) in [("{__x: a}", "must match"), ("{endpoint: a}", "the agent sets those"), ("{9x: a}", "must match"), ("{ok: \"\"}", "1 to 2048 bytes")] {
            #expect {
                try loader.parse(yaml: "outputs: {loki: {url: http://l/, labels: \(labels)}}\nendpoints: [{url: \"http://a/\"}]", source: "x")
            } throws: { ($0 as? ConfigError)?.message.contains(fragment) == true && ($0 as? ConfigError)?.line == 1 }
        }
    }

    @Test func secretsNeverAppearInErrorsOrDescriptions() throws {
        let yaml = "endpoints:\n  - url: http://a/\n    bearer_token: ${TOKEN}\n    timeout: forever\n"
        do {
            _ = try loader.parse(yaml: yaml, source: "agent.yaml")
            Issue.record("expected an error")
        } catch {
            #expect(!"\(error)".contains("sup3rs3cret"))
        }
        let config = try loader.parse(yaml: "endpoints:\n  - url: http://a/\n    bearer_token: ${TOKEN}\n", source: "x")
        #expect(!"\(config)".contains("sup3rs3cret"))
        #expect(!String(reflecting: config).contains("sup3rs3cret"))
        let credentials = try loader.parse(yaml: "endpoints:\n  - url: http://u:pw@a/\n", source: "x").endpoints[0]
        #expect(credentials.displayURL == "http://a/")
    }

    @Test func theSeedEnvironmentStillWorksWithoutYAML() throws {
        let loader = ConfigLoader(
            environment: [
                "API_URL_1": "https://app1.example.com/appRunning", "API_URL_2": "https://app2.example.com/appRunning",
                "API_URL_10": "https://app10.example.com/appRunning", "API_TOKEN": "ibm-token", "POLL_INTERVAL": "30",
                "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/X", "NODE_NAME": "worker-3",
            ], hostname: "h")
        #expect(try loader.resolveSource(flag: nil) == .seedEnvironment)
        let config = try loader.load(.seedEnvironment)
        #expect(config.endpoints.map(\.url) == [
            "https://app1.example.com/appRunning", "https://app2.example.com/appRunning",
            "https://app10.example.com/appRunning",
        ])
        #expect(config.endpoints.allSatisfy { $0.interval == .seconds(30) && $0.timeout == .seconds(10) })
        #expect(config.endpoints.allSatisfy { $0.authorization == .bearer(Secret("ibm-token")) })
        #expect(config.alerting?.receivers.map(\.webhook) == [Secret("https://hooks.slack.com/services/T/B/X")])
        #expect(config.agent.node == "worker-3")
    }

    @Test func theSourceIsFlagThenEnvironmentThenSeed() throws {
        let loader = ConfigLoader(environment: ["LATENCY_AGENT_CONFIG": "/from/env.yaml", "API_URL_1": "http://a/"], hostname: "h")
        #expect(try loader.resolveSource(flag: "/from/flag.yaml") == .file("/from/flag.yaml"))
        #expect(try loader.resolveSource(flag: nil) == .file("/from/env.yaml"))
        #expect(throws: ConfigError.self) { try ConfigLoader(environment: [:], hostname: "h").resolveSource(flag: nil) }
        #expect(throws: ConfigError.self) {
            try ConfigLoader(environment: ["API_URL_1": "not a url"], hostname: "h").loadSeedEnvironment()
        }
    }

    @Test func theNodeNameFallsBackToNodeNameThenHostname() throws {
        let yaml = "endpoints:\n  - url: http://a/\n"
        #expect(try ConfigLoader(environment: ["NODE_NAME": "k8s-node"], hostname: "h").parse(yaml: yaml, source: "x").agent.node == "k8s-node")
        #expect(try ConfigLoader(environment: [:], hostname: "h").parse(yaml: yaml, source: "x").agent.node == "h")
    }

    @Test(arguments: [
        ("250ms", Duration.milliseconds(250)), ("30s", .seconds(30)), ("5m", .seconds(300)), ("1m30s", .seconds(90)),
        ("1.5h", .seconds(5400)), ("60", .seconds(60)), ("100us", .microseconds(100)),
    ])
    func durationsInHumanUnits(text: String, value: Duration) {
        #expect(HumanUnits.duration(text) == value)
    }

    @Test func badDurationsAndSizesAreRejected() {
        for text in ["", "5 minutes", "-1s", "1x", "ms", "1.2.3s"] { #expect(HumanUnits.duration(text) == nil, "\(text)") }
        for text in ["", "12 parsecs", "-5MiB", "MiB"] { #expect(HumanUnits.byteSize(text) == nil, "\(text)") }
    }

    @Test(arguments: [("512MiB", 536_870_912), ("1KB", 1000), ("64KiB", 65536), ("2GB", 2_000_000_000), ("4096", 4096)])
    func sizesInHumanUnits(text: String, bytes: Int) {
        #expect(HumanUnits.byteSize(text) == bytes)
    }

    @Test func variableExpansionHandlesDefaultsAndEscapes() throws {
        let loader = ConfigLoader(environment: ["SET": "v", "EMPTY": ""], hostname: "h")
        let yaml = "endpoints:\n  - url: http://a/\n    headers:\n      A: ${SET}\n      B: ${UNSET:-d}\n      C: ${EMPTY:-e}\n      D: $$5 and $x\n"
        let headers = try loader.parse(yaml: yaml, source: "x").endpoints[0].headers.map(\.value)
        #expect(headers == ["v", "d", "e", "$5 and $x"])
    }
}

/// The shipped example files must stay valid: they are the documentation.
@Suite struct ExampleConfigTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test(arguments: ["examples/config.yaml", "examples/demo.yaml", "examples/file-sd.yaml", "examples/mesh.yaml"])
    func exampleConfigsLoad(path: String) throws {
        let config = try ConfigLoader(environment: [:], hostname: "h").load(path: Self.root.appendingPathComponent(path).path)
        #expect(!config.endpoints.isEmpty || !config.discovery.sources.isEmpty)
    }

    @Test func theExampleTargetFileReads() throws {
        let path = Self.root.appendingPathComponent("examples/targets/web.json").path
        let targets = try TargetFile.parse(try String(contentsOfFile: path, encoding: .utf8), source: path)
        #expect(targets.count == 2 && targets.allSatisfy { $0.labels["team"] != nil })
    }

    /// The configuration inside the Kubernetes ConfigMap loads with the optional Secret absent:
    /// it reads only the cluster CA, which the DaemonSet mounts from `kube-root-ca.crt`.
    @Test func theShippedConfigMapHoldsAValidConfigThatNeedsNoSecret() throws {
        let manifest = try String(contentsOf: Self.root.appendingPathComponent("deploy/configmap.yaml"), encoding: .utf8)
        let document = try #require(try Yams.load(yaml: manifest) as? [String: Any])
        var config = try #require((document["data"] as? [String: String])?["config.yaml"])
        let clusterCA = "/var/run/latency-agent/cluster-ca"
        let daemonSet = try String(contentsOf: Self.root.appendingPathComponent("deploy/daemonset.yaml"), encoding: .utf8)
        #expect(daemonSet.contains("mountPath: \(clusterCA)") && daemonSet.contains("name: kube-root-ca.crt"), "the DaemonSet mounts the CA there")
        let mounted = NSTemporaryDirectory() + "latency-agent-cluster-ca-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: mounted, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: mounted) }
        try "x\n".write(toFile: "\(mounted)/ca.crt", atomically: true, encoding: .utf8)
        config = config.replacingOccurrences(of: clusterCA, with: mounted)
        let loaded = try ConfigLoader(environment: ["NODE_NAME": "node-a", "POD_IP": "127.0.0.9"], hostname: "h")
            .parse(yaml: config, source: "configmap")
        #expect(loaded.agent.node == "node-a")
        #expect(loaded.outputs.pushgateway?.connection.url == "http://pushgateway.latency-agent.svc:9091")
        #expect(loaded.spool.retain == .seconds(86400))
        #expect(loaded.server?.port == 9473)
        #expect(loaded.endpoints.count == 2)
        #expect(loaded.discovery.sources.map(\.name) == ["mesh"], "the mesh over the headless Service")
        let service = try String(contentsOf: Self.root.appendingPathComponent("deploy/mesh-service.yaml"), encoding: .utf8)
        #expect(service.contains("name: latency-agent-mesh") && service.contains("clusterIP: None"))
        #expect(daemonSet.contains("fieldPath: status.podIP"), "self: ${POD_IP} needs the pod's IP")
        // The prune CronJob reads the same ConfigMap, so it needs what the configuration expands and reads.
        let prune = try String(contentsOf: Self.root.appendingPathComponent("deploy/pushgateway-prune.yaml"), encoding: .utf8)
        #expect(prune.contains(#"args: ["pushgateway", "prune", "--config", "/etc/latency-agent/config.yaml", "--stale", "1h"]"#))
        #expect(prune.contains("name: latency-agent-config") && prune.contains("mountPath: \(clusterCA)"))
        #expect(prune.contains("name: NODE_NAME") && prune.contains("name: POD_IP"))
        #expect(loaded.sourceFiles == ["\(mounted)/ca.crt"], "no file from the optional Secret is needed")
    }
}

/// The optional PodMonitor cannot be checked by kubernetes-validate (a CRD), so it is checked
/// here against what it must match: the DaemonSet's pod labels and its named port.
@Suite struct FileValueTests {
    @Test func bodiesAndHeaderValuesComeFromFilesThatAreWatchedAndScrubbed() throws {
        let directory = NSTemporaryDirectory() + "file-values-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "{\"query\": \"ping\"}\n".write(toFile: "\(directory)/body.json", atomically: true, encoding: .utf8)
        try "k3y-from-a-mounted-secret\n".write(toFile: "\(directory)/key", atomically: true, encoding: .utf8)
        try """
            endpoints:
              - url: http://a/
                method: POST
                body_file: \(directory)/body.json
                headers: {X-Tenant: team-a, X-Custom: {file: \(directory)/key}}
            """.write(toFile: "\(directory)/agent.yaml", atomically: true, encoding: .utf8)
        let config = try ConfigLoader(environment: [:], hostname: "h").load(path: "\(directory)/agent.yaml")
        let endpoint = config.endpoints[0]
        #expect(endpoint.body == "{\"query\": \"ping\"}\n", "a body file is sent as it is")
        #expect(endpoint.headers == [HTTPHeader(name: "X-Tenant", value: "team-a"),
                                     HTTPHeader(name: "X-Custom", value: "k3y-from-a-mounted-secret", fromFile: true)])
        #expect(config.scrubber.scrub("echo k3y-from-a-mounted-secret") == "echo <redacted>", "a header from a file is a secret whatever its name")
        #expect(config.scrubber.scrub("echo team-a") == "echo team-a")
        #expect(Set(config.sourceFiles) == Set(["agent.yaml", "body.json", "key"].map { "\(directory)/\($0)" }), "both are watched")
    }

    @Test func aBodyIsInlineOrFromAFile() throws {
        #expect {
            try ConfigLoader(environment: [:], hostname: "h").parse(
                yaml: "endpoints:\n  - url: http://a/\n    body: x\n    body_file: /etc/hostname\n", source: "t")
        } throws: { error in
            (error as? ConfigError)?.line == 4 && (error as? ConfigError)?.message.contains("body_file and body exclude each other") == true
        }
    }
}

@Suite struct ProxyConfigTests {
    @Test func environmentProxiesAreOffUnlessAskedForAndDefaultsApply() throws {
        let loader = ConfigLoader(environment: [:], hostname: "h")
        let config = try loader.parse(yaml: """
            defaults: {proxy_url: "http://user:s3cretProxyPass@proxy.internal:3128", no_proxy: [localhost, .internal]}
            endpoints:
              - {name: a, url: "http://a/"}
              - {name: b, url: "http://b/", proxy_from_environment: true}
              - {name: c, url: "http://c/", proxy_from_environment: false}
            """, source: "t")
        #expect(config.endpoints[0].proxy == .url("http://user:s3cretProxyPass@proxy.internal:3128", noProxy: ["localhost", ".internal"]))
        #expect(config.endpoints[1].proxy == .environment)
        #expect(config.endpoints[2].proxy == .direct, "false turns the defaults' proxy off")
        #expect(config.endpoints[0].proxy.display == "via proxy http://proxy.internal:3128 (not for localhost, .internal)")
        #expect(config.scrubber.scrub("echo s3cretProxyPass") == "echo <redacted>", "the proxy's password is scrubbed like any secret")
        let plain = try loader.parse(yaml: "endpoints: [{url: \"http://a/\"}]", source: "t")
        #expect(plain.endpoints[0].proxy == .direct)
    }
}

@Suite struct PodMonitorTests {
    @Test func thePodMonitorSelectsTheAgentsAndTheirMetricsPort() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let monitor = try #require(try Yams.load(yaml: String(contentsOf: root.appendingPathComponent("deploy/optional/podmonitor.yaml"), encoding: .utf8)) as? [String: Any])
        let daemonSet = try #require(try Yams.load(yaml: String(contentsOf: root.appendingPathComponent("deploy/daemonset.yaml"), encoding: .utf8)) as? [String: Any])
        #expect(monitor["apiVersion"] as? String == "monitoring.coreos.com/v1" && monitor["kind"] as? String == "PodMonitor")
        let spec = try #require(monitor["spec"] as? [String: Any])
        let selector = try #require((spec["selector"] as? [String: Any])?["matchLabels"] as? [String: String])
        let template = try #require((daemonSet["spec"] as? [String: Any])?["template"] as? [String: Any])
        let podLabels = try #require((template["metadata"] as? [String: Any])?["labels"] as? [String: String])
        #expect(selector.allSatisfy { podLabels[$0.key] == $0.value }, "selects the agent's pods")
        let containers = try #require((template["spec"] as? [String: Any])?["containers"] as? [[String: Any]])
        let ports = containers.flatMap { ($0["ports"] as? [[String: Any]]) ?? [] }.compactMap { $0["name"] as? String }
        let endpoints = try #require(spec["podMetricsEndpoints"] as? [[String: Any]])
        #expect(endpoints.allSatisfy { ports.contains($0["port"] as? String ?? "") && $0["path"] as? String == "/metrics" })
        #expect(monitor["metadata"].flatMap { ($0 as? [String: Any])?["namespace"] as? String } == "latency-agent")
    }
}

@Suite struct ServerLocalURLTests {
    @Test(arguments: [
        ("0.0.0.0", "http://127.0.0.1:9473/health"), ("::", "http://[::1]:9473/health"),
        ("127.0.0.2", "http://127.0.0.2:9473/health"), ("::1", "http://[::1]:9473/health"),
        ("localhost", "http://localhost:9473/health"),
    ])
    func theHealthCheckReachesTheServerFromTheSameHost(address: String, url: String) {
        #expect(ServerConfig(address: address).localURL(path: "/health") == url)
    }
}
