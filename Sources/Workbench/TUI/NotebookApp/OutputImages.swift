extension NotebookApp {
    /// Places the pictures of a cell's image outputs that are on the page: whole, or the band of
    /// rows in view when the page's edge or the output cap cuts them (`top` is the row of line `firstLine`).
    static func drawImages(_ area: OutputArea, firstLine: Int, top: Int, page: Int, into buffer: inout ScreenBuffer) {
        let layout = area.imageLayout
        guard layout.graphics != nil, page > 0 else { return }
        for (line, image, rows) in area.images(from: firstLine, count: max(0, area.lineCount - firstLine)) {
            let pictureTop = top + line - firstLine
            if pictureTop >= page { break }
            // At a narrow width the picture is scaled down and may take fewer rows than its block.
            let box = layout.box(pixelWidth: image.pixelWidth, pixelHeight: image.pixelHeight, maxColumns: buffer.width - textX)
            let pictureRows = min(rows, box.height)
            let from = max(pictureTop, top, 0)
            let to = min(pictureTop + pictureRows, page)
            guard box.width > 0, to > from else { continue }
            buffer.place(
                image, in: Rect(x: textX, y: from, width: box.width, height: to - from), pictureRows: pictureRows,
                firstRow: from - pictureTop)
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
