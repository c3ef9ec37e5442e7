public import CoreSupport

/// Line-based diffs (Myers' algorithm) and unified-diff hunks, in pure Swift.
public enum LineDiff {
    /// One step of an edit script.
    public enum Operation: Sendable, Equatable {
        case equal(old: Int, new: Int)
        case delete(old: Int)
        case insert(new: Int)
    }

    /// One line of a hunk: ` ` context, `-` removed, `+` added.
    public struct Line: Sendable, Equatable {
        public enum Kind: String, Sendable { case context = " ", removed = "-", added = "+" }
        public var kind: Kind
        /// The line without its newline.
        public var text: String

        public init(kind: Kind, text: String) {
            self.kind = kind
            self.text = text
        }
    }

    /// A unified-diff hunk. Starts are 1-based, as in `@@ -a,b +c,d @@`.
    public struct Hunk: Sendable, Equatable {
        public var oldStart: Int
        public var oldCount: Int
        public var newStart: Int
        public var newCount: Int
        public var lines: [Line]

        public var header: String {
            "@@ -\(LineDiff.range(oldStart, oldCount)) +\(LineDiff.range(newStart, newCount)) @@"
        }

        public var json: JSON {
            [
                "old_start": .int(oldStart), "old_lines": .int(oldCount), "new_start": .int(newStart), "new_lines": .int(newCount),
                "lines": .array(lines.map { .string($0.kind.rawValue + $0.text) }),
            ]
        }
    }

    static func range(_ start: Int, _ count: Int) -> String {
        count == 1 ? "\(start)" : "\(count == 0 ? start : start),\(count)"
    }

    /// Splits text into lines without their newlines (a final newline does not make an empty line).
    public static func lines(_ text: String) -> [String] {
        if text.isEmpty { return [] }
        var result = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if text.hasSuffix("\n") { result.removeLast() }
        return result
    }

    /// A shortest edit script turning `a` into `b`.
    public static func operations<T: Hashable>(_ a: [T], _ b: [T]) -> [Operation] {
        // Common prefix and suffix are cheap and common: take them off first.
        var prefix = 0
        while prefix < a.count, prefix < b.count, a[prefix] == b[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < a.count - prefix, suffix < b.count - prefix, a[a.count - 1 - suffix] == b[b.count - 1 - suffix] { suffix += 1 }
        // Compare lines by small integers.
        var codes: [T: Int] = [:]
        func code(_ value: T) -> Int {
            if let c = codes[value] { return c }
            let c = codes.count
            codes[value] = c
            return c
        }
        let x = a[prefix..<(a.count - suffix)].map(code)
        let y = b[prefix..<(b.count - suffix)].map(code)
        var result: [Operation] = (0..<prefix).map { .equal(old: $0, new: $0) }
        for op in myers(x, y) {
            switch op {
            case .equal(let o, let n): result.append(.equal(old: o + prefix, new: n + prefix))
            case .delete(let o): result.append(.delete(old: o + prefix))
            case .insert(let n): result.append(.insert(new: n + prefix))
            }
        }
        for i in 0..<suffix { result.append(.equal(old: a.count - suffix + i, new: b.count - suffix + i)) }
        return result
    }

    /// Myers' O(ND) algorithm with a saved frontier per step to trace the path back.
    static func myers(_ a: [Int], _ b: [Int]) -> [Operation] {
        let n = a.count, m = b.count
        if n == 0 { return (0..<m).map { .insert(new: $0) } }
        if m == 0 { return (0..<n).map { .delete(old: $0) } }
        let maxD = n + m
        let offset = maxD
        var v = [Int](repeating: 0, count: 2 * maxD + 2)
        var trace: [[Int]] = []
        var found = false
        for d in 0...maxD {
            trace.append(v)
            var k = -d
            while k <= d {
                var xPos: Int
                if k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1]) {
                    xPos = v[offset + k + 1]
                } else {
                    xPos = v[offset + k - 1] + 1
                }
                var yPos = xPos - k
                while xPos < n, yPos < m, a[xPos] == b[yPos] {
                    xPos += 1
                    yPos += 1
                }
                v[offset + k] = xPos
                if xPos >= n, yPos >= m {
                    found = true
                    break
                }
                k += 2
            }
            if found { break }
        }
        // Walk back through the saved frontiers.
        var ops: [Operation] = []
        var xPos = n, yPos = m
        for d in stride(from: trace.count - 1, through: 0, by: -1) {
            let vd = trace[d]
            let k = xPos - yPos
            let prevK: Int
            if k == -d || (k != d && vd[offset + k - 1] < vd[offset + k + 1]) {
                prevK = k + 1
            } else {
                prevK = k - 1
            }
            let prevX = d == 0 ? 0 : vd[offset + prevK]
            let prevY = prevX - prevK
            while xPos > prevX, yPos > prevY, xPos > 0, yPos > 0 {
                xPos -= 1
                yPos -= 1
                ops.append(.equal(old: xPos, new: yPos))
            }
            if d > 0 {
                if xPos == prevX {
                    yPos -= 1
                    ops.append(.insert(new: yPos))
                } else {
                    xPos -= 1
                    ops.append(.delete(old: xPos))
                }
            }
        }
        while xPos > 0, yPos > 0 {
            xPos -= 1
            yPos -= 1
            ops.append(.equal(old: xPos, new: yPos))
        }
        return ops.reversed()
    }

    /// Unified-diff hunks between two texts, with `context` lines around each change.
    public static func hunks(old: String, new: String, context: Int = 3) -> [Hunk] {
        hunks(oldLines: lines(old), newLines: lines(new), context: context)
    }

    public static func hunks(oldLines a: [String], newLines b: [String], context: Int = 3) -> [Hunk] {
        let ops = operations(a, b)
        // Indices of operations that change something.
        let changes = ops.indices.filter { if case .equal = ops[$0] { return false } else { return true } }
        guard !changes.isEmpty else { return [] }
        // Group changes whose context windows touch.
        var groups: [(Int, Int)] = []
        var start = changes[0], end = changes[0]
        for i in changes.dropFirst() {
            if i - end <= 2 * context { end = i } else {
                groups.append((start, end))
                start = i
                end = i
            }
        }
        groups.append((start, end))
        var result: [Hunk] = []
        for (first, last) in groups {
            let from = max(0, first - context), to = min(ops.count - 1, last + context)
            var hunk = Hunk(oldStart: 0, oldCount: 0, newStart: 0, newCount: 0, lines: [])
            var oldFirst: Int?, newFirst: Int?
            // Where this hunk starts in each file: the first line it shows, or where it inserts.
            var oldCursor = 0, newCursor = 0
            for op in ops[..<from] {
                switch op {
                case .equal: oldCursor += 1; newCursor += 1
                case .delete: oldCursor += 1
                case .insert: newCursor += 1
                }
            }
            for op in ops[from...to] {
                switch op {
                case .equal(let o, let n):
                    oldFirst = oldFirst ?? o
                    newFirst = newFirst ?? n
                    hunk.lines.append(Line(kind: .context, text: a[o]))
                    hunk.oldCount += 1
                    hunk.newCount += 1
                case .delete(let o):
                    oldFirst = oldFirst ?? o
                    hunk.lines.append(Line(kind: .removed, text: a[o]))
                    hunk.oldCount += 1
                case .insert(let n):
                    newFirst = newFirst ?? n
                    hunk.lines.append(Line(kind: .added, text: b[n]))
                    hunk.newCount += 1
                }
            }
            // As diff(1): a side with no lines gives the line before it (0 at the top).
            hunk.oldStart = hunk.oldCount == 0 ? oldCursor : (oldFirst ?? oldCursor) + 1
            hunk.newStart = hunk.newCount == 0 ? newCursor : (newFirst ?? newCursor) + 1
            result.append(hunk)
        }
        return result
    }

    /// A unified diff of two texts (`--- old`, `+++ new`, hunks); empty when they are equal.
    public static func unified(old: String, new: String, oldName: String = "a", newName: String = "b", context: Int = 3) -> String {
        let hunks = hunks(old: old, new: new, context: context)
        guard !hunks.isEmpty else { return "" }
        var out = "--- \(oldName)\n+++ \(newName)\n"
        for hunk in hunks {
            out += hunk.header + "\n"
            for line in hunk.lines { out += line.kind.rawValue + line.text + "\n" }
        }
        return out
    }
}
