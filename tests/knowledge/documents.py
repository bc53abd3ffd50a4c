"""Files of every format the knowledge base reads, built in the test (no fixtures on disk)."""

import io

import docx


def pdf_bytes(pages: list[list[str]]) -> bytes:
    """A PDF whose pages hold these lines, with a CID font and a ToUnicode map, as CJK PDFs are made.

    Each distinct character gets a 2-byte code (Identity-H); the ToUnicode CMap maps it back,
    which is what a text extractor reads. An empty page list item makes a page with no text
    (what a scanned, image-only page looks like to an extractor).
    """
    chars = sorted({c for page in pages for line in page for c in line})
    code = {c: i + 1 for i, c in enumerate(chars)}
    cmap = "\n".join(f"<{code[c]:04X}> <{ord(c):04X}>" for c in chars) if chars else ""
    tounicode = (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CIDSystemInfo << /Registry (Adobe) "
        "/Ordering (UCS) /Supplement 0 >> def /CMapName /Adobe-Identity-UCS def /CMapType 2 def "
        "1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
        f"{len(chars)} beginbfchar\n{cmap}\nendbfchar endcmap CMapName currentdict /CMap defineresource pop end end"
    ) if chars else ""
    objects = {
        1: "<< /Type /Catalog /Pages 2 0 R >>",
        3: "<< /Type /Font /Subtype /Type0 /BaseFont /NotoSansCJKtc /Encoding /Identity-H "
           "/DescendantFonts [4 0 R] /ToUnicode 5 0 R >>",
        4: "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /NotoSansCJKtc "
           "/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor 6 0 R /DW 1000 >>",
        5: f"<< /Length {len(tounicode.encode())} >>\nstream\n{tounicode}\nendstream",
        6: "<< /Type /FontDescriptor /FontName /NotoSansCJKtc /Flags 4 /FontBBox [0 -200 1000 900] /ItalicAngle 0 "
           "/Ascent 880 /Descent -120 /CapHeight 700 /StemV 80 >>",
    }
    kids = []
    number = 7
    for page in pages:
        ops = ["BT", "/F1 12 Tf", "14 TL", "50 780 Td"]
        for line in page:
            ops.append("<" + "".join(f"{code[c]:04X}" for c in line) + "> Tj T*")
        ops.append("ET")
        content = "\n".join(ops) if page else ""
        objects[number] = (
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {number + 1} 0 R >>"
        )
        objects[number + 1] = f"<< /Length {len(content.encode())} >>\nstream\n{content}\nendstream"
        kids.append(f"{number} 0 R")
        number += 2
    objects[2] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for key in sorted(objects):
        offsets[key] = out.tell()
        out.write(f"{key} 0 obj\n{objects[key]}\nendobj\n".encode())
    xref = out.tell()
    size = max(objects) + 1
    out.write(f"xref\n0 {size}\n0000000000 65535 f \n".encode())
    for key in range(1, size):
        out.write(f"{offsets[key]:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def encrypted_pdf_bytes(password="secret") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes([["機密文件"]]))))
    writer.encrypt(user_password=password, owner_password="owner-" + password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes(*, heading="網路設備維護", paragraphs=(), table=()) -> bytes:
    document = docx.Document()
    document.add_heading(heading, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
