import CoreSupport
import Testing

@testable import Notebook

/// `NotebookReader` reads the lists of lines `rejoin` joins as one string each: the notebook must come
/// out exactly as `JSON.parse` followed by `rejoin` makes it, errors included.
@Suite("Notebook reader")
struct NotebookReaderTests {
    /// The top level with every cell through `rejoin`, as `Notebook(ipynb:)` builds it.
    static func rejoined(_ value: JSON) -> JSON {
        guard case .object(var top) = value, let cells = top["cells"]?.arrayValue else { return value }
        top["cells"] = .array(cells.map { cell in cell.objectValue.map { .object(NotebookLines.rejoin(cell: $0)) } ?? cell })
        return .object(top)
    }

    static func expectSame(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let bytes = Array(text.utf8)
        let plain = Result { () throws(JSONParseError) in try JSON.parse(bytes) }
        let read = Result { () throws(JSONParseError) in try NotebookReader.parse(bytes) }
        switch (plain, read) {
        case (.success(let plain), .success(let read)):
            #expect(rejoined(read) == rejoined(plain), sourceLocation: sourceLocation)
        case (.failure(let plain), .failure(let read)):
            #expect(read == plain, sourceLocation: sourceLocation)
        default:
            Issue.record("one reader failed and the other did not: \(plain) / \(read)", sourceLocation: sourceLocation)
        }
    }

    static func notebook(_ cells: String) -> String { #"{"cells": [\#(cells)], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"# }

    @Test(arguments: Fixtures.all)
    func fixturesReadAsParseThenRejoin(_ name: String) throws {
        try Self.expectSame(String(decoding: try Fixtures.bytes(name), as: UTF8.self))
    }

    @Test func streamsAndSourcesAreReadJoined() throws {
        let text = Self.notebook(
            #"{"cell_type": "code", "execution_count": 1, "id": "a", "metadata": {}, "outputs": [{"name": "stdout", "output_type": "stream", "text": ["one\n", "tw\u00f6 \"q\"\n", "three"]}], "source": ["print(1)\n", "print(2)"]}"#)
        let value = try NotebookReader.parse(Array(text.utf8))
        let cell = try #require(value["cells"]?.arrayValue?.first)
        #expect(cell["source"] == .string("print(1)\nprint(2)"))
        #expect(cell["outputs"]?.arrayValue?.first?["text"] == .string("one\ntwö \"q\"\nthree"))
        try Self.expectSame(text)
    }

    @Test(arguments: [
        // nbformat's sorted keys: `data` before `output_type`, read as a list and joined by rejoin.
        #"{"cell_type": "code", "metadata": {}, "outputs": [{"data": {"text/plain": ["1\n", "2"]}, "execution_count": 1, "metadata": {}, "output_type": "execute_result"}], "source": []}"#,
        // `output_type` first: JSON MIME types stay lists, a list with a number stays a list.
        #"{"cell_type": "code", "metadata": {}, "outputs": [{"output_type": "display_data", "metadata": {}, "data": {"application/json": ["a", "b"], "application/vnd+json": ["c"], "text/html": ["<b>", 1], "image/png": ["iVBO\n", "Rw=="]}}], "source": ""}"#,
        // A stream with a `data` key, an error with `text`, an output without a type.
        #"{"cell_type": "code", "metadata": {}, "outputs": [{"output_type": "stream", "name": "stdout", "data": {"text/plain": ["x", "y"]}, "text": ["a", "b"]}, {"output_type": "error", "ename": "E", "evalue": "", "traceback": ["t1", "t2"], "text": ["e1", "e2"]}, {"output_type": "", "text": ["n1", "n2"]}, {"text": ["m1", "m2"]}], "source": "x"}"#,
        // A later duplicate `output_type` changes the decision; so does a later duplicate `cell_type`.
        #"{"cell_type": "code", "metadata": {}, "outputs": [{"output_type": "stream", "text": ["a\n", "b"], "output_type": "display_data", "data": {}, "metadata": {}}, {"output_type": "execute_result", "data": {"text/plain": ["p", "q"]}, "output_type": "stream"}], "source": ["s"]}"#,
        #"{"cell_type": "code", "metadata": {}, "outputs": [{"output_type": "stream", "text": ["x\n", "y"]}], "cell_type": "markdown", "source": ["s"]}"#,
        // A Markdown cell's outputs are not joined; a source with a number in it joins the strings.
        #"{"cell_type": "markdown", "metadata": {}, "outputs": [{"output_type": "stream", "text": ["x\n", "y"]}], "source": ["a", 1, "b", null]}"#,
        // Escapes, surrogate pairs, a lone surrogate, an empty list, whitespace everywhere.
        #"{ "cell_type" : "code" , "metadata" : { } , "outputs" : [ { "output_type" : "stream" , "text" : [ "\ud83d\ude00 ok\n" , "\ud800 lone\n" , "\u00e9\t\\\/\n" ] } ] , "source" : [ ] }"#,
        // Not objects where cells and outputs are expected.
        #"{"cell_type": "code", "metadata": {}, "outputs": [1, "two", null, [{"output_type": "stream", "text": ["a", "b"]}]], "source": ["a"]}, 5, [], "cell""#,
    ])
    func edgeCasesReadAsParseThenRejoin(_ cells: String) throws {
        try Self.expectSame(Self.notebook(cells))
    }

    @Test(arguments: [
        #"{"cell_type": "code", "metadata": {}, "outputs": [{"output_type": "stream", "text": ["a\n", "b"#,
        #"{"cell_type": "code", "metadata": {}, "outputs": [{"output_type": "stream", "text": ["a\n" "b"]}], "source": []}"#,
        #"{"cell_type": "code", "metadata": {}, "outputs": [{"output_type": "stream", "text": ["a\q"]}], "source": []}"#,
        #"{"cell_type": "code", "metadata": {}, "outputs": [], "source": ["a", "b\u12"]}"#,
        "{\"cell_type\": \"code\", \"metadata\": {}, \"outputs\": [], \"source\": [\"a\", \"b\u{1}\"]}",
        #"{"cells": 1, "cells": [{"source": ["x"]}]"#,
    ])
    func errorsAreThoseOfTheJSONParser(_ cells: String) throws {
        try Self.expectSame(Self.notebook(cells))
    }

    @Test func invalidUTF8InALineIsTheSameErrorAtTheSamePlace() throws {
        // Two halves of one character (é) split over two lines: each line alone is invalid, their join is not.
        var bytes = Array(Self.notebook(#"{"cell_type": "code", "metadata": {}, "outputs": [], "source": ["AAAA", "BBBB"]}"#).utf8)
        let a = try #require(bytes.firstIndex(of: UInt8(ascii: "A")))
        let b = try #require(bytes.firstIndex(of: UInt8(ascii: "B")))
        bytes[a + 3] = 0xC3
        bytes[b] = 0xA9
        let plain = Result { () throws(JSONParseError) in try JSON.parse(bytes) }
        let read = Result { () throws(JSONParseError) in try NotebookReader.parse(bytes) }
        guard case .failure(let plainError) = plain, case .failure(let readError) = read else {
            Issue.record("both should fail: \(plain) / \(read)")
            return
        }
        #expect(readError == plainError)
        #expect(plainError.message == "invalid UTF-8 in a string")
    }
}
