import CoreSupport
import Crypto
import Governance
import Storage
import Testing
import TestSupport

@Suite struct AuditChainTests {
    /// The writer hashes each record's JSON text made straight into bytes; it must be byte for byte the text
    /// `record.json.serialized()` gives, which logs written before hashed and `wb audit verify` recomputes.
    @Test func eachRecordIsHashedOverItsJSONTextAsBefore() throws {
        let domain = try Domain.open(at: try Scratch.directory("gov-audit-chain"))
        let service = try GovernanceService(domain: domain)
        let texts = [
            "plain", "quote \" and back\\slash", "new\nline\ttab\r", "control \u{01}\u{1F}\u{7F}", "ünïcødé 😀 \u{2028}", "", "a/b",
        ]
        for (i, text) in texts.enumerated() {
            service.audit.append(
                AuditRecord(
                    principal: "user:\(text)", action: i % 2 == 0 ? "SELECT" : "lakehouse:query", resource: "main.\(text)",
                    allowed: i % 2 == 0, grants: i % 3 == 0 ? [] : ["g-\(text)", "h"], policyVersion: i * 1_000_003,
                    query: i % 2 == 0 ? "SELECT '\(text)'" : nil, detail: text))
        }
        try service.audit.flush()
        let stored = try service.audit.search(limit: Int.max)
        #expect(stored.count == texts.count + 1)  // and the initial policy's record
        var previous = AuditLog.genesis
        for entry in stored {
            let text = "\(previous)\n\(entry.sequence)\n\(entry.record.json.serialized())"
            let digest = SHA256.hash(data: Array(text.utf8)).map { byte in
                String(byte >> 4, radix: 16) + String(byte & 0xF, radix: 16)
            }.joined()
            #expect(digest == entry.hash, "record \(entry.sequence)")
            previous = entry.hash
        }
        #expect(stored.last?.record.detail == texts.last)
        #expect(stored[2].record.grants == ["g-\(texts[1])", "h"])
        #expect(try service.audit.verify().isIntact)
    }
}
