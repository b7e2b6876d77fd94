<?php

declare(strict_types=1);

namespace Zygote\Classic;

/**
 * The C declarations of php/ffi/*.h, as an FFI handle. Reused docroot
 * workers preload them (ffi.preload, set by the Node side:
 * lib/http/docroot/reuse-preload.ts): PHP then keeps each header as a
 * named scope, parsed and its symbols resolved once for the life of the
 * process, and FFI::scope() hands it out in every request at no cost.
 * Without that (a fresh fork per request, or a pool built without
 * reusedDocrootPreload()), the header is parsed here, with FFI::cdef(),
 * each time.
 */
final class FfiScope
{
    /**
     * @param string $scope the header's FFI_SCOPE
     * @param string $header a file of php/ffi/
     * @param string|null $library the shared library its functions are in (null: the PHP process itself)
     *
     * @throws \FFI\Exception when FFI is disabled or a symbol is missing
     */
    public static function open(string $scope, string $header, ?string $library = null): \FFI
    {
        try {
            return \FFI::scope($scope);
        } catch (\FFI\Exception) {
            // Not preloaded: parse the header (FFI::cdef() knows no #define).
        }
        $code = self::declarations($header);
        return $library === null ? \FFI::cdef($code) : \FFI::cdef($code, $library);
    }

    /** A header of php/ffi/ as FFI::cdef() takes it: without its #define lines. */
    public static function declarations(string $header): string
    {
        return (string) preg_replace('/^#.*$/m', '', (string) file_get_contents(self::path($header)));
    }

    public static function path(string $header): string
    {
        return dirname(__DIR__, 2) . '/ffi/' . $header;
    }
}
