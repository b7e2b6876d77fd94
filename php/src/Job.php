<?php

declare(strict_types=1);

namespace Zygote;

/** One job as the handler sees it. */
final class Job
{
    /** @param array<string, mixed> $context */
    public function __construct(
        public readonly int $id,
        public readonly string $body,
        public readonly array $context,
        private readonly Channel $channel,
    ) {
    }

    /**
     * Sends part of the response now (a frame with the MORE flag); what the
     * handler returns is the last part. For streamed output. Throws
     * FrameTooLargeException for a chunk over maxFrameSize.
     *
     * @param array<string, mixed> $context sent with this chunk
     */
    public function write(string $chunk, array $context = []): void
    {
        $this->channel->write($this->id, Frame::MORE, $context, $chunk);
    }
}
