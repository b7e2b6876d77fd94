<?php

declare(strict_types=1);

namespace Zygote\Http;

use Zygote\Job;

/**
 * An HTTP request as php-zygote's HTTP front sends it: method, URL, headers,
 * remote address and protocol in the job context, the raw body as the job
 * body. Header values (and so cookies) are the bytes the client sent, as
 * with php-fpm: not necessarily UTF-8.
 */
final class Request
{
    /**
     * @param array<string, list<string>> $headers lower-case name => values
     * @param array<string, mixed> $query
     * @param array<string, string> $cookies
     * @param array<string, mixed>|null $parsedBody form fields or decoded JSON
     */
    public function __construct(
        public readonly string $method,
        public readonly string $uri,
        public readonly string $path,
        public readonly string $queryString,
        public readonly array $query,
        public readonly array $headers,
        public readonly array $cookies,
        public readonly ?array $parsedBody,
        public readonly string $body,
        public readonly string $protocol,
        public readonly string $remoteAddress,
        public readonly int $remotePort,
        public readonly string $scheme,
        public readonly string $host,
        public readonly int $serverPort,
    ) {
    }

    public static function fromJob(Job $job): self
    {
        $c = $job->context;
        $headers = [];
        foreach ($c['headers'] ?? [] as [$name, $value]) {
            // Back to the bytes the client sent (see HeaderBytes).
            $headers[strtolower(HeaderBytes::decode((string) $name))][] = HeaderBytes::decode((string) $value);
        }
        $uri = (string) ($c['url'] ?? '/');
        $questionMark = strpos($uri, '?');
        $path = rawurldecode($questionMark === false ? $uri : substr($uri, 0, $questionMark));
        $queryString = $questionMark === false ? '' : substr($uri, $questionMark + 1);
        parse_str($queryString, $query);

        $cookies = [];
        foreach ($headers['cookie'] ?? [] as $line) {
            foreach (explode(';', $line) as $pair) {
                $parts = explode('=', trim($pair), 2);
                if (count($parts) === 2 && $parts[0] !== '') {
                    $cookies[$parts[0]] = urldecode($parts[1]);
                }
            }
        }

        return new self(
            method: strtoupper((string) ($c['method'] ?? 'GET')),
            uri: $uri,
            path: $path,
            queryString: $queryString,
            query: $query,
            headers: $headers,
            cookies: $cookies,
            parsedBody: self::parseBody($headers['content-type'][0] ?? '', $job->body),
            body: $job->body,
            protocol: 'HTTP/' . ($c['httpVersion'] ?? '1.1'),
            remoteAddress: (string) ($c['remoteAddress'] ?? ''),
            remotePort: (int) ($c['remotePort'] ?? 0),
            scheme: (string) ($c['scheme'] ?? 'http'),
            host: (string) ($headers['host'][0] ?? ''),
            serverPort: (int) ($c['serverPort'] ?? 0),
        );
    }

    /** The first value of a header (case-insensitive), or null. */
    public function header(string $name): ?string
    {
        return $this->headers[strtolower($name)][0] ?? null;
    }

    /** @return array<string, mixed>|null */
    private static function parseBody(string $contentType, string $body): ?array
    {
        $type = strtolower(trim(explode(';', $contentType)[0]));
        if ($body === '') {
            return null;
        }
        if ($type === 'application/x-www-form-urlencoded') {
            parse_str($body, $fields);
            return $fields;
        }
        if ($type === 'application/json' || str_ends_with($type, '+json')) {
            try {
                $decoded = json_decode($body, true, 512, JSON_THROW_ON_ERROR);
            } catch (\JsonException) {
                return null;
            }
            return is_array($decoded) ? $decoded : null;
        }
        return null;
    }
}
