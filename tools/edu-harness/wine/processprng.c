/*
 * bcryptprimitives.dll for Wine 8 (Debian 12), which lacks ProcessPrng.
 *
 * Rust's standard library (1.78 and later) imports ProcessPrng from bcryptprimitives.dll on
 * Windows 10+ targets to seed HashMap keys and the like. Wine 8 has no such export, so every
 * Rust program fails to load. This test-rig-only DLL provides the one function, backed by
 * RtlGenRandom (advapi32's SystemFunction036), which Wine implements. It is placed next to the
 * test executables by run-tests.sh; it is never shipped and plays no part on real Windows.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
