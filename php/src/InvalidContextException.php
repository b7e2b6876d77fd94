<?php

declare(strict_types=1);

namespace Zygote;

/**
 * A frame arrived whole but its context could not be decoded (not JSON,
 * nested too deep, not an object). The channel is still in step, so on a
 * worker's channel only that job fails: the worker answers it with this
 * error and serves on (docs/protocol.md, "Context").
 */
final class InvalidContextException extends ZygoteException
{
    public function __construct(string $message, public readonly int $jobId = 0, ?\Throwable $previous = null)
    {
        parent::__construct($message, 0, $previous);
    }
}
