import CoreSupport
import Foundation
import TestSupport
import Testing

@testable import TUI

/// The benchmark hook: `WB_FRAME_LOG` gets one line per frame, in milliseconds.
@Suite("Frame log")
struct FrameLogTests {
    @Test func eachFrameIsOneLineOfMilliseconds() throws {
        let path = FilePath.join(try Scratch.directory("frame-log"), "frames.log")
        do {
            let log = try #require(FrameLog.open(path: path))
            log.record(at: 12.5, render: 0.0015, paint: 0.000_25, update: 0.020_001)
            log.record(at: 12.516, render: 0.001, paint: 0.002, update: 0)
        }
        let text = try FileIO.readText(path)
        #expect(text == "12500.000 1.500 0.250 20.001\n12516.000 1.000 2.000 0.000\n")
        #expect(FrameLog.open(path: "/nonexistent-folder/frames.log") == nil)
    }

    @Test func aPaintIsALineOfItsOwn() throws {
        let path = FilePath.join(try Scratch.directory("frame-log"), "paints.log")
        do {
            let log = try #require(FrameLog.open(path: path))
            log.record(at: 1, render: 0.001, paint: 0.000_01, update: 0)
            log.recordPaint(at: 1.0005, paint: 0.0215, waited: 0.000_5, frames: 3)
        }
        #expect(try FileIO.readText(path) == "1000.000 1.000 0.010 0.000\npaint 1000.500 21.500 0.500 3\n")
    }
}
