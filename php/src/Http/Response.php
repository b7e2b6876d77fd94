<?php

declare(strict_types=1);

namespace Zygote\Http;

/** What an HTTP handler returns: status, headers and body. */
final class Response
{
    /** @param array<string, string|list<string>> $headers */
    public function __construct(
        public readonly string $body = '',
        public readonly int $status = 200,
        public readonly array $headers = [],
    ) {
    }

    /** @param array<string, string|list<string>> $headers */
    public static function json(mixed $data, int $status = 200, array $headers = []): self
    {
        return new self(
            json_encode($data, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE),
            $status,
            $headers + ['content-type' => 'application/json'],
        );
    }

    /**
     * Headers as [name, value] pairs, the form the frame context carries:
     * each byte of a name or value sent as is, whatever the encoding (see
     * HeaderBytes).
     *
     * @param array<string, string|list<string>> $headers
     * @return list<array{string, string}>
     */
    public static function headerPairs(array $headers): array
    {
        $pairs = [];
        foreach ($headers as $name => $values) {
            foreach ((array) $values as $value) {
                $pairs[] = [(string) $name, (string) $value];
            }
        }
        return HeaderBytes::encodePairs($pairs);
    }
}
