#!/usr/bin/env python3
"""Rewrites the DMA range check of QEMU 7.2's hw/misc/edu.c into a later version's behaviour.

usage: rangefix.py <edu.c> fixed-bound|log-and-skip

fixed-bound   what QEMU 8.2.1 and 9.0 do: a range may end exactly at the buffer end; a zero
              count or any other out-of-range transfer still aborts QEMU (hw_error).
log-and-skip  what upstream does after commit 42f599172ae0: a zero count and a range ending at
              the buffer end are accepted; an out-of-range transfer is logged and not copied,
              and the command still completes.
The replacement code is written for this tool; only the behaviour follows QEMU.
"""
import re
import sys

path, variant = sys.argv[1], sys.argv[2]
text = open(path).read()

check = re.compile(r"static void edu_check_range\(.*?\n}\n", re.S)
if not check.search(text):
    sys.exit("rangefix: edu_check_range not found")

if variant == "fixed-bound":
    body = """static void edu_check_range(uint64_t addr, uint64_t size1, uint64_t start,
                uint64_t size2)
{
    uint64_t last = start + size2;
    uint64_t end = addr + size1;

    /* edu-qtest fixed-bound: the end may equal the buffer end. */
    if (addr >= start && addr < last && end > addr && end <= last) {
        return;
    }
    hw_error("EDU: DMA range 0x%016"PRIx64"-0x%016"PRIx64
             " out of bounds (0x%016"PRIx64"-0x%016"PRIx64")!",
             addr, end - 1, start, last - 1);
}
"""
    text = check.sub(lambda _: body, text, count=1)
elif variant == "log-and-skip":
    body = """static bool edu_check_range(uint64_t addr, uint64_t size1, uint64_t start,
                uint64_t size2)
{
    uint64_t last = start + size2;
    uint64_t end = addr + size1;

    /* edu-qtest log-and-skip: report, and let the caller skip the copy. */
    if (end >= addr && addr >= start && end <= last) {
        return true;
    }
    qemu_log_mask(LOG_GUEST_ERROR, "EDU: DMA range out of bounds\\n");
    return false;
}
"""
    text = check.sub(lambda _: body, text, count=1)
    for side in ("dst", "src"):
        old = f"        edu_check_range({side}, edu->dma.cnt, DMA_START, DMA_SIZE);\n"
        if old not in text:
            sys.exit(f"rangefix: call with {side} not found")
        text = text.replace(old, f"        if (!edu_check_range({side}, edu->dma.cnt, DMA_START, DMA_SIZE)) {{\n            goto done;\n        }}\n")
    old = "    edu->dma.cmd &= ~EDU_DMA_RUN;\n"
    if text.count(old) != 1:
        sys.exit("rangefix: completion not found")
    text = text.replace(old, "done:\n" + old)
    if '#include "qemu/log.h"' not in text:
        text = text.replace('#include "qemu/osdep.h"\n', '#include "qemu/osdep.h"\n#include "qemu/log.h"\n', 1)
else:
    sys.exit(f"rangefix: unknown variant {variant}")

open(path, "w").write(text)
