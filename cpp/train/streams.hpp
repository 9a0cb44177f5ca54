// How the native loops read a text: B streams side by side, stream j the j-th of B equal parts
// of the text (each length() long), each read in windows of T characters (the window's inputs
// and next-character targets), its state carried from one window to the next. Two kinds of text:
//   plain      the characters themselves; targets are the next character, so a window needs
//              T + 1 characters of its stream (the assignment's rule)
//   documents  inputs and targets laid out by the caller (python/charrnn/data.py): each document
//              starts a window with the end-of-document symbol (`end`, as if the document
//              before had just ended), is followed by padding whose targets are -1 (nothing
//              predicted), and the state is zeroed before each `end` that begins a window, so
//              no window mixes two documents' context
// Not here: the loops themselves (trainer.cpp, evaluate.cpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace charrnn {

struct Streams {
    std::vector<std::int32_t> text;     // the characters read
    std::vector<std::int32_t> targets;  // documents: one per character of text, -1 for none;
                                        // empty for a plain text
    int B = 1;                          // streams
    std::int32_t end = -1;              // documents: the end-of-document symbol, which is
                                        // also every document's first input

    bool documents() const { return !targets.empty(); }
    // Characters in each stream: the text is B streams of this length, side by side.
    std::int64_t length() const { return std::int64_t(text.size()) / B; }
    // Characters of a stream that can be read as inputs (a plain text's last has no target).
    std::int64_t readable() const { return length() - (documents() ? 0 : 1); }
    // Whether a window of T inputs starting at offset e of every stream fits.
    bool fits(std::int64_t e, int T) const { return e + T <= readable(); }
    // Windows of T in one pass over the streams.
    std::int64_t windows(int T) const { return readable() / T; }

    // The window of T inputs at offset e of every stream: x and y are (B, T) row-major.
    void read(std::int64_t e, int T, std::int32_t* x, std::int32_t* y) const {
        const std::int64_t n = length();
        for (int j = 0; j < B; ++j) {
            const std::int64_t at = j * n + e;
            std::copy_n(text.data() + at, T, x + std::int64_t(j) * T);  // x_t
            const std::int32_t* next = documents() ? targets.data() + at : text.data() + at + 1;
            std::copy_n(next, T, y + std::int64_t(j) * T);  // y_t
        }
    }
    // Whether stream j's window at offset e begins a document (its state starts from zero).
    bool begins_document(int j, std::int64_t e) const {
        return documents() && text[std::size_t(j * length() + e)] == end;
    }
};

}  // namespace charrnn
