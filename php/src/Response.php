<?php

declare(strict_types=1);

namespace Zygote;

/** What a handler may return instead of a plain string: a body with context. */
final class Response
{
    /** @param array<string, mixed> $context */
    public function __construct(
        public readonly string $body = '',
        public readonly array $context = [],
    ) {
    }
}
