// The worked example of Docs/plugins.md: keep the two in step.
import CoreSupport
import PluginBus
import Synchronization

/// Adds a note; answers with its number.
struct AddNote: BusRequest {
    typealias Response = NoteNumber
    static let action = Action("notes", "add")
    static let permission: Permission = "notes:write"

    var text: String

    init(text: String) { self.text = text }
    init(json: JSON) throws { text = try json.required("text", \.stringValue) }
    var jsonValue: JSON { ["text": .string(text)] }
}

/// Counts the notes.
struct CountNotes: BusRequest {
    typealias Response = NoteNumber
    static let action = Action("notes", "count")
    static let permission: Permission = "notes:read"

    init() {}
    init(json: JSON) {}
    var jsonValue: JSON { [:] }
}

/// A note's number, or how many notes there are.
struct NoteNumber: BusMessage, Equatable {
    var number: Int

    init(_ number: Int) { self.number = number }
    init(json: JSON) throws { number = try json.required("number", \.intValue) }
    var jsonValue: JSON { ["number": .int(number)] }
}

/// Published after a note was added.
struct NoteWasAdded: BusEvent, Equatable {
    static let topic = Action("notes", "added")

    var number: Int
    var text: String

    init(number: Int, text: String) {
        self.number = number
        self.text = text
    }
    init(json: JSON) throws {
        number = try json.required("number", \.intValue)
        text = try json.required("text", \.stringValue)
    }
    var jsonValue: JSON { ["number": .int(number), "text": .string(text)] }
}

/// The notes plugin: one namespace, two actions, one event.
final class NotesPlugin: Plugin {
    let namespace = "notes"
    private let notes = Mutex<[String]>([])
    private let events: EventPublisher

    init(events: EventPublisher) { self.events = events }

    var actions: [ActionRegistration] {
        [
            .handle(AddNote.self) { request, context in
                let number = self.notes.withLock { notes in
                    notes.append(request.text)
                    return notes.count
                }
                self.events.publish(NoteWasAdded(number: number, text: request.text), by: context.principal)
                return NoteNumber(number)
            },
            .handle(CountNotes.self) { _, _ in
                NoteNumber(self.notes.withLock(\.count))
            },
        ]
    }
}
