<?php

declare(strict_types=1);

namespace Zygote\Http;

use Zygote\Job;
use Zygote\Response as JobResponse;
use Zygote\Zygote;

/**
 * Runs code written for php-fpm: before each request it fills $_SERVER,
 * $_GET, $_POST, $_COOKIE, $_REQUEST and $_FILES (empty), and captures
 * echo output with output buffering.
 *
 * The CLI SAPI ignores header() and setcookie(): headers_list() stays
 * empty there. Set headers with Classic::header() instead; the status can
 * be set with http_response_code(), which the CLI does keep, or with
 * Classic::header('HTTP/1.1 404 Not Found') / Classic::header($h, true, 404).
 * With the pool's isolated mode every request starts from the master's
 * clean state, so globals and statics cannot leak between requests.
 */
final class Classic
{
    /** @var list<array{string, string}> */
    private static array $headers = [];

    /** @param callable(Request): void $handler */
    public static function serve(callable $handler): never
    {
        Zygote::serve(static fn (Job $job): JobResponse => self::handle($job, $handler));
    }

    /** Like header(): replaces a header of the same name unless $replace is false. */
    public static function header(string $header, bool $replace = true, int $responseCode = 0): void
    {
        if (preg_match('~^HTTP/\S+\s+(\d{3})~i', $header, $m)) {
            http_response_code((int) $m[1]);
            return;
        }
        [$name, $value] = array_map('trim', explode(':', $header, 2)) + [1 => ''];
        if ($replace) {
            self::$headers = array_values(array_filter(self::$headers, static fn ($h) => strcasecmp($h[0], $name) !== 0));
        }
        self::$headers[] = [$name, $value];
        if ($responseCode > 0) {
            http_response_code($responseCode);
        } elseif (strcasecmp($name, 'location') === 0 && http_response_code() === 200) {
            http_response_code(302);
        }
    }

    /** @internal */
    public static function handle(Job $job, callable $handler): JobResponse
    {
        $request = Request::fromJob($job);
        self::$headers = [];
        http_response_code(200);
        self::fillGlobals($request);
        ob_start();
        try {
            $handler($request);
        } finally {
            $body = '';
            while (ob_get_level() > 0) {
                $body = ob_get_clean() . $body;
            }
        }
        $headers = self::$headers;
        if (!array_filter($headers, static fn ($h) => strcasecmp($h[0], 'content-type') === 0)) {
            $headers[] = ['content-type', 'text/html; charset=UTF-8'];
        }
        return new JobResponse($body, ['status' => (int) http_response_code(), 'headers' => HeaderBytes::encodePairs($headers)]);
    }

    private static function fillGlobals(Request $request): void
    {
        $server = [
            'REQUEST_METHOD' => $request->method,
            'REQUEST_URI' => $request->uri,
            'QUERY_STRING' => $request->queryString,
            'SERVER_PROTOCOL' => $request->protocol,
            'REMOTE_ADDR' => $request->remoteAddress,
            'REMOTE_PORT' => (string) $request->remotePort,
            'SERVER_PORT' => (string) $request->serverPort,
            'HTTP_HOST' => $request->host,
            'SERVER_NAME' => explode(':', $request->host)[0],
            'HTTPS' => $request->scheme === 'https' ? 'on' : '',
            'SCRIPT_NAME' => $_SERVER['SCRIPT_NAME'] ?? '',
            'SCRIPT_FILENAME' => $_SERVER['SCRIPT_FILENAME'] ?? '',
            'DOCUMENT_ROOT' => $_SERVER['DOCUMENT_ROOT'] ?? '',
            'REQUEST_TIME' => time(),
            'REQUEST_TIME_FLOAT' => microtime(true),
        ];
        foreach ($request->headers as $name => $values) {
            $key = strtoupper(str_replace('-', '_', $name));
            $value = implode(', ', $values);
            if ($key === 'CONTENT_TYPE' || $key === 'CONTENT_LENGTH') {
                $server[$key] = $value;
            } else {
                $server['HTTP_' . $key] = $value;
            }
        }
        $_SERVER = $server;
        $_GET = $request->query;
        $_POST = $request->method === 'POST' && $request->parsedBody !== null && !str_contains((string) $request->header('content-type'), 'json')
            ? $request->parsedBody
            : [];
        $_COOKIE = $request->cookies;
        $_FILES = [];
        // request_order "GP", as php.ini-production has it: POST wins over GET.
        $_REQUEST = array_merge($_GET, $_POST);
    }
}
