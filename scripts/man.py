#!/usr/bin/env python3
"""The reference manual of cmio, generated from the header's own comments.

Reads include/cmio.h and writes, for every public function (each CMIO_API
function and each public static inline one; cmio__* names are not API):

  man/man3/<function>.3   one page in roff: NAME, SYNOPSIS, DESCRIPTION,
                          RETURN VALUE, ERRORS, THREAD SAFETY, NOTES, SEE ALSO
  docs/reference.md       the same text in Markdown, one file, for reading online

The page text is the function's /** ... */ comment, split at its "Errors:"
sentence and its thread-safety sentence; the NOTES carry the comments that
open its part of the header (the Net layer's common errors, the TcpSocket
options, ...). man/man7/cmio.7, the overview, is written by hand.

  scripts/man.py            regenerate (after editing a comment of the header)
  scripts/man.py --check    fail if a page is missing, stale or extra, if a
                            public function's comment lacks its errors or its
                            thread-safety, or if a page or cmio.7 names a page
                            that does not exist (the 'manual' test)
  scripts/man.py --render   fail if groff warns on any page (the
                            'manual-render' test; exit 77, a skip, without groff)
"""

import argparse
import concurrent.futures
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile

GENERATOR = "scripts/man.py"

# The three layouts of cmio_event (design.md section 3), in the header's order.
VARIANT_LABELS = {
    "CMIO_EVENT_RECORD_EPOLL": "Linux and Android (the epoll record)",
    "CMIO_EVENT_RECORD_KEVENT": "the BSDs and macOS (the kevent record)",
    "CMIO_EVENT_RECORD_AFD": "Windows (cmio's record of AFD poll bits)",
    "else": "other systems (cmio's own record)",
}

THREAD_RE = re.compile(r"^(Thread[- ]safe|Thread-safety|Thread safety|Not thread-safe|Not to be called|"
                       r"Not while|Any thread|One thread)")
COST_RE = re.compile(r"^(Allocates|Allocate |No allocation|Nothing allocates|One system call|"
                     r"Two system calls|Three system calls|Makes no system call|No system call|System calls)")
RETURNS_RE = re.compile(r"^Returns? ")


# --------------------------------------------------------------------------
# Reading the header
# --------------------------------------------------------------------------

class Function:
    def __init__(self, name, proto, inline, section, major, line):
        self.name = name
        self.proto = proto
        self.inline = inline
        self.section = section      # the minor banner's title
        self.major = major          # the major banner's title ("" before the Net part)
        self.line = line
        self.variants = []          # [(label or None, comment lines)]


class Header:
    def __init__(self):
        self.functions = {}         # name -> Function, in header order
        self.notes = {}             # section title -> [comment lines, ...]
        self.types = set()          # cmio_X of every typedef
        self.version = "0"


def comment_lines(raw):
    """The text lines of a /* */ or /** */ comment, its frame stripped."""
    body = raw.strip()
    body = re.sub(r"^/\*\*?<?", "", body)
    body = re.sub(r"\*/$", "", body)
    out = []
    for ln in body.split("\n"):
        m = re.match(r"^\s*\* ?(.*)$", ln)
        text = m.group(1) if m else ln.strip()
        out.append(text.rstrip())
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    # One-line comments whose continuation lines are indented by an extra
    # space ("/** A.\n *  B. */") are prose, not code.
    if out and not out[0].startswith(" "):
        extra = [ln for ln in out[1:] if ln.strip()]
        if extra and all(ln.startswith(" ") and not ln.startswith("   ") for ln in extra):
            out = [out[0]] + [ln[1:] if ln.startswith(" ") else ln for ln in out[1:]]
    return out


def parse_header(path):
    text = open(path, encoding="utf-8").read()
    lines = text.split("\n")
    hdr = Header()
    m = re.search(r'#define CMIO_VERSION_STRING "([^"]+)"', text)
    if m:
        hdr.version = m.group(1)
    for m in re.finditer(r"^\}\s*(cmio_[a-z]\w*)\s*;", text, re.M):
        hdr.types.add(m.group(1))
    for m in re.finditer(r"typedef struct (cmio_[a-z]\w*) \1;", text):
        hdr.types.add(m.group(1))

    section, major = "", ""
    doc, doc_end = None, -2            # the last /** */ comment and its last line
    variant = None
    i = 0
    n = len(lines)
    while i < n:
        ln = lines[i]
        s = ln.strip()
        # Banners: a rule, a title, a rule.
        if re.match(r"^/\* [-=]{20,} \*/$", s) and i + 2 < n and re.match(r"^/\* [-=]{20,} \*/$",
                                                                            lines[i + 2].strip()):
            title = re.sub(r"^/\*\s*|\s*\*/$", "", lines[i + 1].strip())
            if "=" in s:
                major, section = title.split(":")[0].strip(), title.split(":")[0].strip()
            else:
                section = title
            i += 3
            continue
        if s.startswith("/*"):
            j = i
            while "*/" not in lines[j]:
                j += 1
            raw = "\n".join(lines[i:j + 1])
            if s.startswith("/**"):
                doc, doc_end = raw, j
            else:
                body = comment_lines(raw)
                if (len(body) >= 2 and not body[0].startswith("Not API") and section
                        and not lines[j + 1].strip().startswith("struct cmio__")):
                    hdr.notes.setdefault(section, []).append(body)
                doc, doc_end = None, -2
            i = j + 1
            continue
        if s.startswith("#"):
            if re.match(r"^#if defined\(CMIO_EVENT_RECORD_EPOLL\)$", s):
                variant = "CMIO_EVENT_RECORD_EPOLL"
            elif variant and re.match(r"^#elif defined\(CMIO_EVENT_RECORD_KEVENT\)$", s):
                variant = "CMIO_EVENT_RECORD_KEVENT"
            elif variant and re.match(r"^#elif defined\(CMIO_EVENT_RECORD_AFD\)$", s):
                variant = "CMIO_EVENT_RECORD_AFD"
            elif variant and s.startswith("#else"):
                variant = "else"
            elif variant and s.startswith("#endif"):
                variant = None
            i += 1
            continue
        m = re.match(r"^(CMIO_API|static inline)\s", ln)
        if m:
            j = i
            decl = ln
            while not re.search(r"[;{]\s*$", decl) and j + 1 < n:
                j += 1
                decl += " " + lines[j].strip()
            inline = m.group(1) == "static inline"
            proto = re.sub(r"\s+", " ", decl.rstrip().rstrip("{").rstrip().rstrip(";"))
            proto = re.sub(r"^CMIO_API ", "", proto) + ";"
            nm = re.search(r"(\w+)\s*\(", proto).group(1)
            has_doc = doc is not None and doc_end == i - 1
            if nm.startswith("cmio_") and not nm.startswith("cmio__"):
                f = hdr.functions.get(nm)
                if f is None:
                    f = Function(nm, proto, inline, section, major, i + 1)
                    hdr.functions[nm] = f
                if has_doc:
                    f.variants.append((VARIANT_LABELS[variant] if variant else None, comment_lines(doc)))
            doc, doc_end = None, -2
            if decl.rstrip().endswith("{"):          # skip the body
                while j + 1 < n and lines[j] != "}":
                    j += 1
            i = j + 1
            continue
        if s.startswith("typedef struct cmio_") and s.endswith(";") and doc is not None and doc_end == i - 1:
            body = comment_lines(doc)
            if len(body) >= 3 and section:
                hdr.notes.setdefault(section, []).append(body)
        if s:
            doc, doc_end = None, -2
        i += 1
    return hdr


def scan_names(path):
    """Every public function name, by a plain scan independent of the parser."""
    names = set()
    text = open(path, encoding="utf-8").read()
    for m in re.finditer(r"^(?:CMIO_API|static inline)\b[^(;{]*?\b(cmio_[a-z]\w*)\s*\(", text, re.M):
        names.add(m.group(1))
    return names


# --------------------------------------------------------------------------
# From comment lines to blocks, and the page's parts
# --------------------------------------------------------------------------

ITEM_RE = re.compile(r"^ ?(- |-E[A-Z0-9]+ {2,})")


def blocks_of(lines):
    """Paragraphs as blocks: ('text', str), ('code', [lines]), ('items', [str])."""
    paras, cur = [], []
    for ln in lines + [""]:
        if ln.strip():
            cur.append(ln)
        elif cur:
            paras.append(cur)
            cur = []
    out = []
    for p in paras:
        if all(ln.startswith("   ") for ln in p):
            out.append(("code", [ln[4:] if ln.startswith("    ") else ln.strip() for ln in p]))
            continue
        text, items = [], None
        for ln in p:
            if ITEM_RE.match(ln):
                if text:
                    out.append(("text", " ".join(text)))
                    text = []
                if items is None:
                    items = []
                    out.append(("items", items))
                items.append(re.sub(r"^ ?- ", "", ln).strip())
            elif items is not None and ln.startswith("  "):
                items[-1] += " " + ln.strip()
            else:
                items = None
                text.append(ln.strip())
        if text:
            out.append(("text", " ".join(text)))
    # Several 'text' runs of one paragraph stay separate paragraphs.
    return out


def sentences(text):
    return [s for s in re.split(r"(?<=[.])\s+(?=[A-Z(*\-\"])", text) if s]


class Page:
    """The parts of one function's documentation, each a list of blocks."""

    def __init__(self):
        self.desc, self.returns, self.errors, self.thread, self.notes = [], [], [], [], []


def split_comment(lines):
    page = Page()
    bucket = "desc"
    for kind, val in blocks_of(lines):
        if kind != "text":
            (page.desc if bucket == "desc" else page.notes).append((kind, val))
            continue
        run = {"desc": [], "returns": [], "errors": [], "thread": [], "notes": []}
        if bucket != "desc":
            # A paragraph after the errors: thread-safety, cost, or notes.
            first = sentences(val)[0]
            bucket = "thread" if THREAD_RE.match(first) else "notes"
        for s in sentences(val):
            if s.startswith("Errors:"):
                bucket = "errors"
                s = s[len("Errors:"):].strip()
                if not s:
                    continue
            elif THREAD_RE.match(s) and bucket != "desc" or (bucket == "desc" and THREAD_RE.match(s)
                                                              and s.startswith(("Thread-safe", "Thread-safety"))):
                bucket = "thread"
            elif COST_RE.match(s) and bucket in ("errors", "thread"):
                bucket = "notes"
            if bucket == "desc" and RETURNS_RE.match(s):
                run["returns"].append(s)
                continue
            run[bucket].append(s)
        if run["errors"] and not page.errors:
            run["errors"][0] = run["errors"][0][0].upper() + run["errors"][0][1:]
        if run["thread"] and not page.thread and run["thread"][0].startswith("Thread-safety: "):
            t = run["thread"][0][len("Thread-safety: "):]
            run["thread"][0] = t[0].upper() + t[1:]
        for key, ss in run.items():
            if ss:
                getattr(page, key).append(("text", " ".join(ss)))
        if bucket == "notes" and run["thread"]:
            bucket = "thread"
    return page


def has_thread_safety(lines):
    text = " ".join(ln.strip() for ln in lines)
    return any(THREAD_RE.match(s) for s in sentences(text)) or "thread-safe" in text.lower()


def summary(f):
    desc = split_comment(f.variants[0][1]).desc if f.variants else []
    text = next((v for k, v in desc if k == "text"), "")
    if not text:
        return "(undocumented)"
    s = sentences(text)[0].rstrip(".").replace("`", "")
    s = s.replace("Inline; e must not be NULL", "").strip().rstrip(".;")
    prev = None
    s = s.replace("()", "\0")            # a call's () is not a parenthesis
    while prev != s:
        prev = s
        s = re.sub(r"\s+\([^()]*\)", "", s)
    s = s.replace("\0", "()")
    for sep in (": ", "; "):
        if sep in s and len(s.split(sep)[0]) >= 20:
            s = s.split(sep)[0]
    s = s.rstrip(".,;: ")
    if re.match(r"^[A-Z]([a-z]|\s)", s):
        s = s[0].lower() + s[1:]
    return s


def family_of(f, hdr):
    best = ""
    for t in hdr.types:
        if f.name.startswith(t + "_") and len(t) > len(best):
            best = t
    return best or f.section


def families(hdr):
    fam = {}
    for f in hdr.functions.values():
        fam.setdefault(family_of(f, hdr), []).append(f.name)
    return fam


def referenced(f, hdr):
    text = " ".join(" ".join(v[1]) for v in f.variants)
    return [n for n in dict.fromkeys(re.findall(r"\b(cmio_[a-z]\w*)\(\)", text))
            if n in hdr.functions and n != f.name]


def section_notes(f, hdr):
    out = []
    for title in dict.fromkeys([f.major, f.section]):
        if title and title in hdr.notes:
            out.append((title, hdr.notes[title]))
    return out


def return_fallback(f):
    ret = f.proto.split(f.name)[0].replace("static inline", "").strip()
    if ret == "void":
        return "None."
    if ret in ("int", "ssize_t"):
        return ("On success 0, or the value the description gives; "
                "on failure a negative errno value (see ERRORS).")
    return "The value the description gives."


# --------------------------------------------------------------------------
# roff
# --------------------------------------------------------------------------

def roff_inline(text, names):
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for p in parts:
        if p.startswith("`") and p.endswith("`") and len(p) > 1:
            out.append("\\fI" + roff_escape(p[1:-1]) + "\\fP")
            continue
        p = roff_escape(p)
        p = re.sub(r"\b(cmio_[a-z]\w*)\(\)", lambda m: "\\fB" + m.group(1) + "\\fP()", p)
        # No hyphenation inside identifiers.
        p = re.sub(r"(?<![\w\\%])(?=\b[A-Za-z]\w*_\w)", r"\\%", p)
        out.append(p)
    return "".join(out)


def roff_escape(s):
    s = s.replace("\\", "\\e")
    s = re.sub(r"(?<![\w])-(?=[A-Z0-9-])", r"\\-", s)
    s = re.sub(r"(?<=\s)--", r"\\-\\-", s)
    return s


def roff_lines(text, names):
    out = []
    for s in sentences(text):
        ln = roff_inline(s, names)
        if ln.startswith((".", "'")):
            ln = "\\&" + ln
        out.append(ln)
    return out


def roff_blocks(blocks, names):
    out = []
    first = True
    for kind, val in blocks:
        if not first:
            out.append(".PP")
        first = False
        if kind == "text":
            out += roff_lines(val, names)
        elif kind == "code":
            out += [".RS 4", ".EX"] + [("\\&" + roff_escape(ln)) for ln in val] + [".EE", ".RE"]
        else:
            for k, item in enumerate(val):
                m = re.match(r"^(-E[A-Z0-9]+) {2,}(.*)$", item)
                if m:
                    out += [".TP", "\\fB" + roff_escape(m.group(1)) + "\\fP"] + roff_lines(m.group(2), names)
                else:
                    out += [".IP \\(bu 2"] + roff_lines(item, names)
            out.append(".PP")
            first = True
    while out and out[-1] in (".PP", ".LP"):
        out.pop()
    return out


def roff_synopsis(f):
    proto = f.proto
    m = re.match(r"^(.*?)\b(" + f.name + r")\((.*)\);$", proto)
    ret, params = m.group(1), m.group(3)
    plist = []
    for prm in [p.strip() for p in params.split(",")] if params.strip() else []:
        pm = re.match(r"^(.*?)(\w+)$", prm)
        if prm == "void" or not pm or not pm.group(1).strip():
            plist.append(roff_escape(prm))
        else:
            plist.append(roff_escape(pm.group(1)) + "\\fI" + pm.group(2) + "\\fP")
    head = roff_escape(ret) + "\\fB" + f.name + "\\fP("
    lines = []
    cur = head
    for k, p in enumerate(plist):
        piece = p + ("," if k < len(plist) - 1 else ");")
        visible = re.sub(r"\\f[BIP]", "", cur + piece)
        if len(visible) > 72 and cur != head:
            lines.append(cur.rstrip())
            cur = " " * (len(re.sub(r"\\f[BIP]", "", head))) + piece + " "
        else:
            cur += piece + " "
    if not plist:
        cur += ");"
    lines.append(cur.rstrip())
    return lines


def page_roff(f, hdr, fam):
    names = set(hdr.functions)
    out = [
        '.\\" Generated by %s from include/cmio.h: edit the comment there, not this page.' % GENERATOR,
        '.TH %s 3 "" "cmio %s" "cmio Manual"' % (f.name, hdr.version),
        ".SH NAME",
        "%s \\- %s" % (f.name, roff_escape(summary(f))),
        ".SH SYNOPSIS",
        ".nf",
        ".B #include <cmio.h>",
        ".PP",
    ] + roff_synopsis(f) + [".fi", ".PP"]
    if f.inline:
        out.append("Defined inline in \\fI<cmio.h>\\fP: there is no symbol to link.")
    else:
        out.append("Link with \\fI\\-lcmio\\fP (\\fIpkg\\-config \\-\\-libs cmio\\fP).")
    pages = [(label, split_comment(lines)) for label, lines in f.variants] or [(None, Page())]
    base = pages[0][1]
    out.append(".SH DESCRIPTION")
    if len(pages) > 1 and any(p.desc != base.desc for _, p in pages[1:]):
        out.append("The event record is the operating system's own (see \\fBcmio\\fP(7)); "
                   "the test it makes depends on the record:")
        for label, p in pages:
            out += [".TP", "On %s" % label] + roff_blocks(p.desc, names)
    elif base.desc:
        out += roff_blocks(base.desc, names)
    else:
        out.append("(No description in the header.)")
    out.append(".SH RETURN VALUE")
    if base.returns:
        out += roff_blocks(base.returns, names)
    else:
        out.append(return_fallback(f))
    notes = section_notes(f, hdr)
    out.append(".SH ERRORS")
    out += roff_blocks(base.errors, names) if base.errors else ["(Not documented in the header.)"]
    if any("common ones" in v for k, v in base.errors) and notes:
        if out[-1] == "Plus the common ones.":
            out[-1] = "The common ones of the net layer, listed under NOTES."
        else:
            out.append("The errors common to the net layer are listed under NOTES.")
    out.append(".SH THREAD SAFETY")
    out += roff_blocks(base.thread, names) if base.thread else ["(Not documented in the header.)"]
    if base.notes or notes:
        out.append(".SH NOTES")
        out += roff_blocks(base.notes, names)
        if notes:
            if base.notes:
                out.append(".PP")
            out.append("The comments that open this function's part of the header follow "
                       "(\\(lqabove\\(rq and \\(lqbelow\\(rq in them refer to the header).")
        for title, bodies in notes:
            out.append('.SS "%s"' % title.replace('"', "\\(dq"))
            for k, body in enumerate(bodies):
                if k:
                    out.append(".PP")
                out += roff_blocks(blocks_of(body), names)
    also = ["cmio(7)"] + [n + "(3)" for n in referenced(f, hdr)]
    also += [n + "(3)" for n in fam[family_of(f, hdr)] if n != f.name and n + "(3)" not in also]
    out += [".SH SEE ALSO", ".ad l", ".nh"]
    for k, a in enumerate(also):
        nm, sec = a[:-3], a[-2]
        out.append(".BR %s (%s)%s" % (nm, sec, "," if k < len(also) - 1 else ""))
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------

def md_inline(text, names):
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for p in parts:
        if p.startswith("`") and p.endswith("`") and len(p) > 1:
            out.append(p)
            continue
        p = p.replace("\\", "\\\\").replace("*", "\\*").replace("<", "&lt;").replace("_", "\\_")
        p = re.sub(r"\b(cmio(?:\\_[a-z0-9]+)+)\(\)",
                   lambda m: ("[`%s()`](#%s)" % (m.group(1).replace("\\_", "_"), m.group(1).replace("\\_", "_"))
                              if m.group(1).replace("\\_", "_") in names
                              else "`%s()`" % m.group(1).replace("\\_", "_")), p)
        out.append(p)
    return "".join(out)


def md_blocks(blocks, names):
    out = []
    for kind, val in blocks:
        if kind == "text":
            out += [md_inline(val, names), ""]
        elif kind == "code":
            out += ["```c"] + val + ["```", ""]
        else:
            for item in val:
                m = re.match(r"^(-E[A-Z0-9]+) {2,}(.*)$", item)
                if m:
                    out.append("- `%s`: %s" % (m.group(1), md_inline(m.group(2), names)))
                else:
                    out.append("- " + md_inline(item, names))
            out.append("")
    return out


def anchor(title):
    a = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
    return a


def reference_md(hdr):
    names = set(hdr.functions)
    sections = []
    for f in hdr.functions.values():
        if f.section not in sections:
            sections.append(f.section)
    out = [
        "# cmio reference",
        "",
        "<!-- Generated by %s from include/cmio.h: edit the header's comments, not this file. -->" % GENERATOR,
        "",
        "Every public function of `<cmio.h>` (cmio %s), with its comment from the header: what it does, "
        "its return value, its errors and its thread-safety. The same text is installed as one man page per "
        "function (`man 3 cmio_poll_new`); `man 7 cmio` (`man/man7/cmio.7`) is the overview of the concepts. "
        "Semantics in depth: [guide.md](guide.md); from mio: [porting-from-mio.md](porting-from-mio.md)."
        % hdr.version,
        "",
        "## Contents",
        "",
    ]
    for sec in sections:
        out.append("- [%s](#%s)" % (sec, anchor(sec)))
        for f in hdr.functions.values():
            if f.section == sec:
                out.append("  - [`%s`](#%s): %s" % (f.name, f.name, md_inline(summary(f), names)))
    out.append("")
    for sec in sections:
        out += ["## " + sec, ""]
        for body in hdr.notes.get(sec, []):
            out += md_blocks(blocks_of(body), names)
        for f in hdr.functions.values():
            if f.section != sec:
                continue
            out += ["### " + f.name, "", "```c", f.proto, "```", ""]
            pages = [(label, split_comment(lines)) for label, lines in f.variants] or [(None, Page())]
            base = pages[0][1]
            if len(pages) > 1 and any(p.desc != base.desc for _, p in pages[1:]):
                for label, p in pages:
                    out += ["On %s:" % label, ""] + md_blocks(p.desc, names)
            else:
                out += md_blocks(base.desc, names)
            for title, part in (("Returns", base.returns), ("Errors", base.errors),
                                ("Thread safety", base.thread), ("Notes", base.notes)):
                if part:
                    blk = md_blocks(part, names)
                    if blk and part[0][0] == "text":
                        blk[0] = "**%s:** %s" % (title, blk[0])
                    else:
                        blk = ["**%s:**" % title, ""] + blk
                    out += blk
            if f.inline:
                out += ["*Inline in the header.*", ""]
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------
# Writing, checking, rendering
# --------------------------------------------------------------------------

def generate(hdr):
    fam = families(hdr)
    pages = {f.name + ".3": page_roff(f, hdr, fam) for f in hdr.functions.values()}
    return pages, reference_md(hdr)


def write(root, hdr):
    pages, ref = generate(hdr)
    mandir = os.path.join(root, "man", "man3")
    os.makedirs(mandir, exist_ok=True)
    for old in os.listdir(mandir):
        if old.endswith(".3") and old not in pages:
            os.remove(os.path.join(mandir, old))
    for name, text in pages.items():
        with open(os.path.join(mandir, name), "w", encoding="utf-8") as fh:
            fh.write(text)
    with open(os.path.join(root, "docs", "reference.md"), "w", encoding="utf-8") as fh:
        fh.write(ref)
    print("%d pages in man/man3, docs/reference.md" % len(pages))


def check(root, hdr, header):
    problems = []
    names = set(hdr.functions)
    scanned = scan_names(header)
    for n in sorted(scanned - names):
        problems.append("%s: declared in the header but not parsed (no page would be made)" % n)
    for f in hdr.functions.values():
        if not f.variants:
            problems.append("%s (cmio.h:%d): no /** */ comment above it" % (f.name, f.line))
            continue
        for label, lines in f.variants:
            where = "%s (cmio.h:%d%s)" % (f.name, f.line, ", " + label if label else "")
            if not any("Errors:" in ln for ln in lines):
                problems.append(where + ": its comment has no \"Errors:\" part")
            if not has_thread_safety(lines):
                problems.append(where + ": its comment says nothing of thread-safety")
    pages, ref = generate(hdr)
    mandir = os.path.join(root, "man", "man3")
    have = set(x for x in os.listdir(mandir) if x.endswith(".3")) if os.path.isdir(mandir) else set()
    for p in sorted(set(pages) - have):
        problems.append("man/man3/%s: missing (run %s)" % (p, GENERATOR))
    for p in sorted(have - set(pages)):
        problems.append("man/man3/%s: no such public function in the header (run %s)" % (p, GENERATOR))
    for p in sorted(set(pages) & have):
        cur = open(os.path.join(mandir, p), encoding="utf-8").read()
        if cur != pages[p]:
            diff = "".join(list(difflib.unified_diff(cur.splitlines(True), pages[p].splitlines(True),
                                                     "man/man3/" + p, "generated"))[:20])
            problems.append("man/man3/%s: stale (run %s)\n%s" % (p, GENERATOR, diff))
    refpath = os.path.join(root, "docs", "reference.md")
    cur = open(refpath, encoding="utf-8").read() if os.path.exists(refpath) else ""
    if cur != ref:
        problems.append("docs/reference.md: stale or missing (run %s)" % GENERATOR)
    overview = os.path.join(root, "man", "man7", "cmio.7")
    if not os.path.exists(overview):
        problems.append("man/man7/cmio.7: missing")
    else:
        text = open(overview, encoding="utf-8").read()
        for n in sorted(set(re.findall(r"\b(cmio_[a-z]\w*)\\f[RP]\(3\)", text)) |
                        set(re.findall(r"^\.BR (cmio_[a-z]\w*) \(3\)", text, re.M))):
            if n + ".3" not in pages:
                problems.append("man/man7/cmio.7: names %s(3), which has no page" % n)
    for p, text in pages.items():
        for n in re.findall(r"^\.BR (cmio_[a-z]\w*) \(3\)", text, re.M):
            if n + ".3" not in pages:
                problems.append("man/man3/%s: SEE ALSO names %s(3), which has no page" % (p, n))
    if problems:
        for p in problems:
            print("manual: " + p, file=sys.stderr)
        return 1
    print("manual: %d pages for %d public functions (%d CMIO_API, %d inline), all up to date; cmio.7 present"
          % (len(pages), len(names), sum(not f.inline for f in hdr.functions.values()),
             sum(f.inline for f in hdr.functions.values())))
    return 0


def render(root, groff):
    groff = groff or shutil.which("groff")
    if not groff:
        print("manual-render: groff not found (Debian: apt-get install groff-base); skipped")
        return 77
    files = [os.path.join(root, "man", "man7", "cmio.7")]
    mandir = os.path.join(root, "man", "man3")
    files += sorted(os.path.join(mandir, x) for x in os.listdir(mandir) if x.endswith(".3"))
    env = dict(os.environ, LC_ALL="C.UTF-8")

    def one(job):
        path, width = job
        args = [groff, "-man", "-ww", "-z", "-Tutf8"] + ([width] if width else []) + [path]
        r = subprocess.run(args, capture_output=True, text=True, env=env)
        if r.returncode != 0 or r.stderr.strip():
            print("manual-render: %s (%s): %s" % (os.path.relpath(path, root), " ".join(args[1:-1]),
                                                  r.stderr.strip() or "exit %d" % r.returncode),
                  file=sys.stderr)
            return 1
        return 0

    jobs = [(path, width) for path in files for width in ("", "-rLL=65n")]
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        bad = sum(pool.map(one, jobs))
    if bad:
        return 1
    print("manual-render: %d pages render without a warning (groff -man -ww, at the default width and at 65 columns)" % len(files))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    help="the source tree (default: this script's)")
    ap.add_argument("--check", action="store_true", help="check instead of writing")
    ap.add_argument("--render", action="store_true", help="render every page with groff, failing on warnings")
    ap.add_argument("--groff", help="the groff to render with (default: from PATH)")
    a = ap.parse_args()
    header = os.path.join(a.root, "include", "cmio.h")
    if a.render:
        return render(a.root, a.groff)
    hdr = parse_header(header)
    if a.check:
        return check(a.root, hdr, header)
    write(a.root, hdr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
