<?php

declare(strict_types=1);

namespace Zygote;

/**
 * One job as the handler sees it. A handler answers by returning; code
 * that got its job from Zygote::forkPerJob() answers with respond().
 */
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

    /**
     * Sends the last (or only) frame of the response: what a handler's
     * return value becomes in Worker::loop(). Only for a job taken with
     * Zygote::forkPerJob(), which has no handler to return to.
     *
     * @param array<string, mixed> $context
     */
    public function respond(string $body, array $context = []): void
    {
        $this->channel->write($this->id, 0, $context, $body);
    }

    /**
     * Fails the job with $e (an ERROR frame: Node rejects it with a
     * JobError), as a handler's uncaught exception would. Only for a job
     * taken with Zygote::forkPerJob().
     */
    public function fail(\Throwable $e): void
    {
        $this->channel->write($this->id, Frame::ERROR, Worker::describe($e), '');
    }

    /**
     * @internal For Zygote::forkPerJob() workers, after respond(): waits
     * until Node ends the channel (the pool retires a one-job worker as
     * soon as its answer arrived), so the worker's exit is never seen
     * before its answer. A further job is refused with an error naming
     * the cause, as a one-job worker cannot run a second script.
     */
    public function awaitChannelEnd(): void
    {
        try {
            while (($frame = $this->channel->read()) !== null) {
                if (!$frame->isControl()) {
                    $this->channel->write($frame->id, Frame::ERROR, [
                        'class' => \LogicException::class,
                        'message' => 'this worker serves one job per fork (Zygote::forkPerJob); start its pool with isolated: true',
                        'file' => __FILE__,
                        'line' => __LINE__,
                        'trace' => '',
                    ], '');
                }
            }
        } catch (ZygoteException) {
            // Broken or out of step: either way nothing is left to answer.
        }
    }
}
