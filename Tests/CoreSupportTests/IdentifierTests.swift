import CoreSupport
import Testing

@Suite struct IdentifierTests {
    /// Version 4 UUIDs: 8-4-4-4-12 lowercase hex, version nibble 4, variant 10xx; no two alike.
    @Test func uuidsAreWellFormedVersion4AndDistinct() {
        var seen = Set<String>()
        var variants = Set<Character>()
        for _ in 0..<2000 {
            let id = Identifier.uuid()
            let parts = id.split(separator: "-", omittingEmptySubsequences: false)
            #expect(parts.map(\.count) == [8, 4, 4, 4, 12], "\(id)")
            #expect(id.allSatisfy { "0123456789abcdef-".contains($0) }, "\(id)")
            #expect(parts[2].first == "4", "\(id)")
            if let variant = parts[3].first {
                #expect("89ab".contains(variant), "\(id)")
                variants.insert(variant)
            }
            seen.insert(id)
        }
        #expect(seen.count == 2000)
        #expect(variants.count == 4)  // the variant's free bits are random too
    }
}
