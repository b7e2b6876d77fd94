<?php

declare(strict_types=1);

namespace Zygote\Classic;

/**
 * Fills $_SERVER, $_GET, $_POST, $_COOKIE, $_FILES and $_REQUEST (and
 * what getenv() sees) from the HTTP front's job, the way PHP fills them
 * under php-fpm from the FastCGI parameters and the body: parse_str() is
 * the parser PHP itself uses for query strings and urlencoded bodies
 * (same array syntax, same name mangling, max_input_vars).
 */
final class RequestGlobals
{
    /**
     * @param array<string, mixed> $server the CGI variables from the front
     * @param list<array{string, string}> $headers header bytes, decoded
     * @param MultipartForm|null $form a multipart body, taken apart by the front (the job body is then empty)
     * @param (\Closure(array<string, string>): void)|null $environment hands the CGI variables to getenv() (those environment() keeps); null: putenv() (export())
     */
    public static function fill(array $server, array $headers, string $body, ?MultipartForm $form = null, ?\Closure $environment = null): void
    {
        $vars = [];
        foreach ($headers as [$name, $value]) {
            // nginx and Apache drop header names with underscores (or other
            // non-token bytes) rather than pass them to PHP: "X_Real_IP"
            // would otherwise become HTTP_X_REAL_IP and pass for "X-Real-IP".
            // Proxy is httpoxy (CVE-2016-5385): HTTP_PROXY is read as a
            // proxy setting by HTTP clients.
            if (!preg_match('/^[A-Za-z0-9-]+$/', $name) || strcasecmp($name, 'proxy') === 0) {
                continue;
            }
            $key = strtoupper(str_replace('-', '_', $name));
            if ($key === 'CONTENT_TYPE' || $key === 'CONTENT_LENGTH') {
                $vars[$key] ??= $value;
                continue;
            }
            $key = 'HTTP_' . $key;
            // Repeated headers are joined as a proxy joins them; cookies
            // with "; " (HTTP/2 sends one cookie per header field).
            $vars[$key] = isset($vars[$key]) ? $vars[$key] . ($key === 'HTTP_COOKIE' ? '; ' : ', ') . $value : $value;
        }
        foreach ($server as $key => $value) {
            if (is_string($key) && is_scalar($value)) {
                $vars[$key] = (string) $value;
            }
        }
        ($environment ?? self::export(...))(self::environment($vars));
        $now = microtime(true);
        $vars['REQUEST_TIME_FLOAT'] = $now;
        $vars['REQUEST_TIME'] = (int) $now;
        $_SERVER = $vars;

        parse_str((string) ($vars['QUERY_STRING'] ?? ''), $get);
        $_GET = $get;
        $_COOKIE = self::cookies((string) ($vars['HTTP_COOKIE'] ?? ''));
        $_POST = self::post((string) ($vars['REQUEST_METHOD'] ?? 'GET'), (string) ($vars['CONTENT_TYPE'] ?? ''), $body);
        $_FILES = [];
        if ($form !== null) {
            foreach ($form->warnings as $warning) {
                // PHP's own wording, logged as PHP logs it for the request.
                error_log("PHP Warning:  PHP Request Startup: $warning in Unknown on line 0");
            }
            $_POST = $form->post();
            $_FILES = $form->files();
        }
        $_REQUEST = self::request();
    }

    /**
     * Under php-fpm, getenv('REQUEST_METHOD'), getenv('HTTP_HOST') and
     * getenv() itself see the request's FastCGI parameters (fpm's SAPI
     * getenv and environment import); the CLI SAPI only has the process
     * environment, so the parameters are put there. They last one request:
     * a docroot worker is a fresh fork, and PHP restores whatever putenv()
     * changed at request end. REQUEST_TIME is PHP's, not a parameter, so it
     * is not among them (getenv('REQUEST_TIME') is false under fpm too).
     * Unlike under fpm, processes the script starts inherit them, as a CGI
     * script's do; HTTP_PROXY never is one (httpoxy, dropped above).
     * (Reused workers answer getenv() through the SAPI instead, as fpm
     * does: RequestLoop::setParams().)
     *
     * @param array<string, string> $vars what environment() kept
     */
    private static function export(array $vars): void
    {
        foreach ($vars as $name => $value) {
            putenv("$name=$value");
        }
    }

    /**
     * The CGI variables that can be C strings of the environment, which
     * getenv() reads whichever way they get there: an empty name, or one
     * with "=" or NUL, or a value with NUL is left out rather than set
     * wrong (putenv() throws on an empty name or one starting with "=",
     * reads "A=B=C" as A set to "B=C", and stops at a NUL).
     *
     * @param array<string, string> $vars
     * @return array<string, string>
     */
    private static function environment(array $vars): array
    {
        $kept = [];
        foreach ($vars as $name => $value) {
            $name = (string) $name;
            if ($name !== '' && strpbrk($name, "=\0") === false && !str_contains($value, "\0")) {
                $kept[$name] = $value;
            }
        }
        return $kept;
    }

    /**
     * PHP's cookie rules (main/php_variables.c, PARSE_COOKIE): pairs split
     * on ";", leading blanks of a name skipped, names kept as sent (not
     * URL-decoded, but mangled like any variable name: "a.b" is "a_b",
     * "a[x]" an array), values raw-URL-decoded ("+" stays "+"), and the
     * first of two cookies with the same name wins.
     *
     * @return array<string, mixed>
     */
    public static function cookies(string $header): array
    {
        $cookies = [];
        foreach (self::cookiePairs($header) as [$name, $value]) {
            // parse_str() for the name mangling; the name escaped so that
            // it is not URL-decoded, the value so that it arrives as is.
            parse_str(strtr($name, ['%' => '%25', '+' => '%2B', '&' => '%26']) . '=' . rawurlencode($value), $one);
            $cookies = array_replace_recursive($one, $cookies);
        }
        return $cookies;
    }

    /**
     * A Cookie header's pairs as PHP splits them (see cookies()), before
     * any name mangling: names as sent, values raw-URL-decoded, the first
     * of a name only.
     *
     * @return list<array{string, string}>
     */
    public static function cookiePairs(string $header): array
    {
        $pairs = [];
        $seen = [];
        foreach (explode(';', $header) as $pair) {
            $pair = ltrim($pair, " \t\n\r\v\f");
            $eq = strpos($pair, '=');
            $name = $eq === false ? $pair : substr($pair, 0, $eq);
            if ($name === '' || isset($seen[$name])) {
                continue;
            }
            $seen[$name] = true;
            $pairs[] = [$name, $eq === false ? '' : rawurldecode(substr($pair, $eq + 1))];
        }
        return $pairs;
    }

    /** Whether PHP parses this body into $_POST itself: a POST with an urlencoded body. */
    public static function isUrlencodedPost(string $method, string $contentType, string $body): bool
    {
        return $method === 'POST' && $body !== ''
            && strtolower(trim(explode(';', $contentType)[0])) === 'application/x-www-form-urlencoded';
    }

    /** @return array<string, mixed> */
    private static function post(string $method, string $contentType, string $body): array
    {
        // PHP parses a body into $_POST for POST only; multipart/form-data
        // arrives taken apart (MultipartForm), its job body empty.
        if (!self::isUrlencodedPost($method, $contentType, $body)) {
            return [];
        }
        $limit = self::bytes((string) ini_get('post_max_size'));
        if ($limit > 0 && strlen($body) > $limit) {
            // PHP's own message, logged as PHP logs it for the request.
            error_log('PHP Warning:  PHP Request Startup: POST Content-Length of ' . strlen($body) . " bytes exceeds the limit of $limit bytes in Unknown on line 0");
            return [];
        }
        parse_str($body, $post);
        return $post;
    }

    /**
     * $_REQUEST in request_order (or variables_order when that is empty),
     * later sources overriding earlier ones, as PHP merges them.
     *
     * @return array<string, mixed>
     */
    private static function request(): array
    {
        $order = (string) ini_get('request_order');
        if ($order === '') {
            $order = (string) ini_get('variables_order');
        }
        $request = [];
        foreach (str_split(strtoupper($order)) as $source) {
            $request = match ($source) {
                'G' => array_replace_recursive($request, $_GET),
                'P' => array_replace_recursive($request, $_POST),
                'C' => array_replace_recursive($request, $_COOKIE),
                default => $request,
            };
        }
        return $request;
    }

    /** An ini size ("8M") in bytes, as PHP reads it. */
    public static function bytes(string $value): int
    {
        $value = trim($value);
        if ($value === '') {
            return 0;
        }
        $number = (int) $value;
        return match (strtolower(substr($value, -1))) {
            'g' => $number * 1024 * 1024 * 1024,
            'm' => $number * 1024 * 1024,
            'k' => $number * 1024,
            default => $number,
        };
    }
}
