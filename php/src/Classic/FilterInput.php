<?php

declare(strict_types=1);

namespace Zygote\Classic;

/**
 * filter_input(INPUT_GET | INPUT_POST | INPUT_COOKIE) for a docroot
 * request. ext/filter keeps its own copy of each variable, made as PHP's
 * request startup registers it through the SAPI's input filter; the CLI's
 * startup registers none, so each variable goes through that same filter
 * here, split and decoded as PHP's startup does (main/php_variables.c):
 * the query string and an urlencoded POST body on "&", names and values
 * URL-decoded; cookies on ";", leading blanks of a name skipped, values
 * raw-URL-decoded, the first of a name kept (the filter itself keeps the
 * first). A multipart body's fields come from the front, already apart.
 *
 * INPUT_SERVER and INPUT_ENV keep what the CLI registered at start-up,
 * which long made them unreliable under FastCGI too (PHP bug #49184).
 */
final class FilterInput
{
    private const PARSE_POST = 0;
    private const PARSE_GET = 1;
    private const PARSE_COOKIE = 2;

    /** @param array<string, mixed> $server the request's $_SERVER */
    public static function expose(Sapi $sapi, array $server, string $body, ?MultipartForm $form): void
    {
        $query = (string) ($server['QUERY_STRING'] ?? '');
        $cookie = (string) ($server['HTTP_COOKIE'] ?? '');
        $post = ($server['REQUEST_METHOD'] ?? '') === 'POST';
        $urlencoded = $post && $body !== ''
            && strtolower(trim(explode(';', (string) ($server['CONTENT_TYPE'] ?? ''))[0])) === 'application/x-www-form-urlencoded';
        if ($query === '' && $cookie === '' && !$urlencoded && $form === null) {
            return;
        }
        $filter = $sapi->inputFilter();
        if ($filter === null) {
            return; // the module did not read as expected: nothing is called
        }
        foreach (self::pairs($query, '&', false) as [$name, $value]) {
            $filter(self::PARSE_GET, $name, $value);
        }
        if ($urlencoded) {
            foreach (self::pairs($body, '&', false) as [$name, $value]) {
                $filter(self::PARSE_POST, $name, $value);
            }
        } elseif ($post && $form !== null) {
            foreach ($form->fields() as [$name, $value]) {
                if (!str_contains($name, "\0")) {
                    $filter(self::PARSE_POST, $name, $value);
                }
            }
        }
        foreach (self::pairs($cookie, ';', true) as [$name, $value]) {
            $filter(self::PARSE_COOKIE, $name, $value);
        }
    }

    /**
     * @return list<array{string, string}>
     */
    private static function pairs(string $data, string $separator, bool $cookies): array
    {
        $pairs = [];
        foreach (explode($separator, $data) as $pair) {
            if ($cookies) {
                $pair = ltrim($pair, " \t\n\r\v\f");
            }
            if ($pair === '') {
                continue;
            }
            $eq = strpos($pair, '=');
            $name = $eq === false ? $pair : substr($pair, 0, $eq);
            $value = $eq === false ? '' : substr($pair, $eq + 1);
            $name = $cookies ? $name : urldecode($name);
            $value = $cookies ? rawurldecode($value) : urldecode($value);
            // A C string ends at NUL: such a name cannot be registered whole.
            if ($name === '' || str_contains($name, "\0")) {
                continue;
            }
            $pairs[] = [$name, $value];
        }
        return $pairs;
    }
}
