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
 * URL-decoded; cookies as RequestGlobals splits them for $_COOKIE. A
 * multipart body's fields come from the front, already apart.
 *
 * INPUT_SERVER and INPUT_ENV keep what the CLI registered at start-up
 * (php-fpm fills INPUT_SERVER from the request): each of the thirty-odd
 * CGI variables through the filter would cost every request about 30 us,
 * for a call few apps make.
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
        $method = (string) ($server['REQUEST_METHOD'] ?? '');
        $urlencoded = RequestGlobals::isUrlencodedPost($method, (string) ($server['CONTENT_TYPE'] ?? ''), $body);
        if ($query === '' && $cookie === '' && !$urlencoded && $form === null) {
            return;
        }
        $filter = $sapi->inputFilter();
        if ($filter === null) {
            return; // the module did not read as expected: nothing is called
        }
        foreach (self::pairs($query) as [$name, $value]) {
            $filter(self::PARSE_GET, $name, $value);
        }
        if ($urlencoded) {
            foreach (self::pairs($body) as [$name, $value]) {
                $filter(self::PARSE_POST, $name, $value);
            }
        } elseif ($method === 'POST' && $form !== null) {
            foreach ($form->fields() as [$name, $value]) {
                if (!str_contains($name, "\0")) {
                    $filter(self::PARSE_POST, $name, $value);
                }
            }
        }
        foreach (RequestGlobals::cookiePairs($cookie) as [$name, $value]) {
            if (!str_contains($name, "\0")) {
                $filter(self::PARSE_COOKIE, $name, $value);
            }
        }
    }

    /**
     * A query string's (or urlencoded body's) pairs as PHP's request
     * startup splits them: on "&", name and value URL-decoded.
     *
     * @return list<array{string, string}>
     */
    private static function pairs(string $data): array
    {
        $pairs = [];
        foreach (explode('&', $data) as $pair) {
            if ($pair === '') {
                continue;
            }
            $eq = strpos($pair, '=');
            $name = urldecode($eq === false ? $pair : substr($pair, 0, $eq));
            // A C string ends at NUL: such a name cannot be registered whole.
            if ($name === '' || str_contains($name, "\0")) {
                continue;
            }
            $pairs[] = [$name, $eq === false ? '' : urldecode(substr($pair, $eq + 1))];
        }
        return $pairs;
    }
}
