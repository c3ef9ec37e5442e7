import CoreSupport
import Storage
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct ChangeSignalTests {
    @Test func twoMappingsOfOneFileShareTheWordAndItOnlyGrows() throws {
        let path = FilePath.join(try Scratch.directory("signal-share"), "x.signal")
        let a = try #require(ChangeSignal.open(path: path))
        let b = try #require(ChangeSignal.open(path: path))
        #expect(a.load().word == 0)
        let before = b.load()
        #expect(b.isUnchanged(since: before))
        a.beginChange()
        // In flight: odd, and no stamp taken now counts as unchanged later.
        #expect(b.load().word == 1)
        #expect(!b.isUnchanged(since: before))
        #expect(!b.isUnchanged(since: b.load()))
        // A second mark (a writer that died holding it, then a later one) keeps it odd; one advance clears it.
        a.beginChange()
        #expect(b.load().word == 1)
        a.endChange()
        #expect(b.load().word == 2)
        let after = b.load()
        #expect(b.isUnchanged(since: after) && !b.isUnchanged(since: before))
        // An advance with no mark still counts up by one.
        b.endChange()
        #expect(a.load().word == 4)
        // The file is one page, and a third opener of the same file sees the same word.
        #expect(try FileIO.read(path).count == 4096)
        #expect(ChangeSignal.open(path: path)?.load().word == 4)
    }

    @Test func aWriterFollowsADeletedFileAndStampsOfTheOldFileNeverMatch() throws {
        let path = FilePath.join(try Scratch.directory("signal-deleted"), "x.signal")
        let writer = try #require(ChangeSignal.open(path: path))
        writer.beginChange()
        writer.endChange()
        let old = writer.load()
        #expect(unlink(path) == 0)
        // A process opening now makes a new file; its word starts at 0 again.
        let late = try #require(ChangeSignal.open(path: path))
        let lateStamp = late.load()
        #expect(lateStamp.word == 0)
        // The writer's next change maps the new file and marks both: the late reader sees it.
        writer.beginChange()
        #expect(!late.isUnchanged(since: lateStamp))
        writer.endChange()
        #expect(late.load().word == 2)
        #expect(!writer.isUnchanged(since: old))
        // A reader following the path switches files; a stamp from the file it left never matches.
        let reader = try #require(ChangeSignal.open(path: path))
        let stamp = reader.load()
        #expect(unlink(path) == 0)
        let third = try #require(ChangeSignal.open(path: path))
        third.beginChange()
        third.endChange()
        third.beginChange()
        third.endChange()
        reader.follow()
        #expect(!reader.isUnchanged(since: stamp))
        #expect(reader.load().word == 4)
    }

    @Test func aFolderThatCannotBeWrittenGivesNoSignal() throws {
        let folder = try Scratch.directory("signal-readonly")
        #expect(ChangeSignal.open(path: FilePath.join(folder, "missing/x.signal")) == nil)
        #expect(ChangeSignal.open(path: folder) == nil)  // a folder, not a file
    }
}
