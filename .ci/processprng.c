/* ProcessPrng for Wine 8, whose bcryptprimitives.dll lacks it: Rust's std
 * (since 1.78) takes its random bytes from it on Windows. Built by
 * .ci/windows into a bcryptprimitives.dll for the Wine prefix's system32,
 * over RtlGenRandom (advapi32's SystemFunction036), which Wine has. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
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
