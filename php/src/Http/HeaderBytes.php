<?php

declare(strict_types=1);

namespace Zygote\Http;

/**
 * HTTP header names and values are bytes, not text: a client may send
 * UTF-8, Latin-1 or any byte from 0x80 to 0xFF (RFC 9110 obs-text), and
 * php-fpm hands them to PHP untouched. The job context is JSON, which
 * carries only Unicode text, so the HTTP front carries each header byte as
 * one code point U+0000..U+00FF (the Latin-1 reading of the bytes). That
 * is what Node's HTTP parser yields and what its writeHead() writes, so
 * the Node side passes headers through unchanged; this class turns them
 * into PHP's byte strings and back. WSGI (PEP 3333) carries headers the
 * same way, for the same reason.
 *
 *   client bytes  4A C3 BC FF        (J, ü in UTF-8, a stray 0xFF)
 *   Node string   "J\u00c3\u00bc\u00ff"
 *   JSON (UTF-8)  4A C3 83 C2 BC C3 BF
 *   PHP (decode)  4A C3 BC FF        exactly what the client sent
 */
final class HeaderBytes
{
    /** The bytes a context string stands for. */
    public static function decode(string $carried): string
    {
        // Most strings are ASCII: nothing to undo, and no regex to run
        // (a docroot request decodes some forty of them).
        if (strpbrk($carried, "\xC2\xC3") === false) {
            return $carried;
        }
        // Only the two-byte UTF-8 sequences of U+0080..U+00FF need undoing.
        // C2 and C3 are never continuation bytes, so a match cannot start
        // inside another character; anything above U+00FF (not produced by
        // the Node side) is left as it is.
        return preg_replace_callback(
            '/[\xC2\xC3][\x80-\xBF]/',
            static fn (array $m): string => chr(((ord($m[0][0]) & 0x1F) << 6) | (ord($m[0][1]) & 0x3F)),
            $carried,
        );
    }

    /** The context string that carries these bytes. */
    public static function encode(string $bytes): string
    {
        if (!preg_match('/[\x80-\xFF]/', $bytes)) {
            return $bytes; // ASCII, as nearly every header is
        }
        return preg_replace_callback(
            '/[\x80-\xFF]/',
            static fn (array $m): string => chr(0xC0 | (ord($m[0]) >> 6)) . chr(0x80 | (ord($m[0]) & 0x3F)),
            $bytes,
        );
    }

    /**
     * @param list<array{string, string}> $pairs header [name, value] pairs as bytes
     * @return list<array{string, string}> the same pairs as the context carries them
     */
    public static function encodePairs(array $pairs): array
    {
        return array_map(static fn (array $pair): array => [self::encode($pair[0]), self::encode($pair[1])], $pairs);
    }
}
