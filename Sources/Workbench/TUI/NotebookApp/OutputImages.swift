extension NotebookApp {
    /// Places the pictures of a cell's image outputs that are wholly on the page.
    ///
    /// An image partly scrolled off (or partly hidden by the output cap) is not drawn: its label
    /// line shows instead, until it is back in full view.
    static func drawImages(_ area: OutputArea, firstLine: Int, top: Int, page: Int, into buffer: inout ScreenBuffer) {
        let layout = area.imageLayout
        guard layout.graphics != nil, page > 0 else { return }
        for (line, image, rows) in area.images(from: firstLine, count: max(0, area.lineCount - firstLine)) where line >= firstLine {
            let y = top + line - firstLine
            if y >= page { break }
            guard y >= 0, y + rows <= page else { continue }
            let box = layout.box(pixelWidth: image.pixelWidth, pixelHeight: image.pixelHeight, maxColumns: buffer.width - textX)
            guard box.width > 0 else { continue }
            buffer.place(image, in: Rect(x: textX, y: y, width: box.width, height: min(rows, box.height)))
        }
    }
}

extension NotebookApp.State {
    /// Lays every cell's image outputs out anew for a terminal that shows them as `layout`.
    public mutating func setImageLayout(_ layout: ImageLayout) {
        guard layout != imageLayout else { return }
        imageLayout = layout
        for i in cells.indices { cells[i].area.setImageLayout(layout) }
        for i in deleted.indices {
            for j in deleted[i].cells.indices { deleted[i].cells[j].area.setImageLayout(layout) }
        }
    }
}
