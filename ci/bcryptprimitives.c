/*
 * ci/bcryptprimitives.c: the one function of Windows' bcryptprimitives.dll that Rust's
 * standard library needs, for Wine 8, which has no such DLL.
 *
 * std gets its random numbers (the seeds of HashMap's hasher, for one) from ProcessPrng in
 * bcryptprimitives.dll, as Windows 10 and later provide it. This forwards it to
 * SystemFunction036 of advapi32.dll (RtlGenRandom), which Wine has. ci/test builds it with
 * mingw (x86_64-w64-mingw32-gcc) into the Wine prefix's system32, once; see run_wine_tests.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
