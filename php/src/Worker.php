<?php

declare(strict_types=1);

namespace Zygote;

/**
 * The loop of one forked worker: it reads jobs from its own channel, runs
 * the handler, and answers each with a response or an error frame, until
 * Node closes the channel. Nothing inside a job ends the loop.
 */
final class Worker
{
    /** @deprecated Zygote::serve() is the entry point; this alias stays for apps that call it. */
    public static function serve(callable $handler): never
    {
        Zygote::serve($handler);
    }

    /** @internal The loop of one forked worker. */
    public static function loop(\Socket $socket, callable $handler, int $maxFrameSize): never
    {
        $channel = self::ready($socket, $maxFrameSize);
        self::guarded(static function () use ($channel, $handler): void {
            while (($frame = self::nextJob($channel)) !== null) {
                self::run($channel, $frame, $handler);
            }
        });
        exit(0);
    }

    /**
     * @internal For Zygote::forkPerJob(): says ready, then returns the
     * first job, read and refused as loop() does. Exits as loop() does
     * when the channel ends, breaks or goes out of step before a job came.
     */
    public static function firstJob(\Socket $socket, int $maxFrameSize): Job
    {
        $channel = self::ready($socket, $maxFrameSize);
        $frame = null;
        self::guarded(static function () use ($channel, &$frame): void {
            $frame = self::nextJob($channel);
        });
        if ($frame === null) {
            exit(0);
        }
        return new Job($frame->id, $frame->body, $frame->context, $channel);
    }

    /** @internal For Zygote::forkPerWorker(): tells Node the fork is ready for jobs. */
    public static function announce(\Socket $socket, int $maxFrameSize): void
    {
        self::ready($socket, $maxFrameSize);
    }

    /**
     * @internal For a worker that reads each job in a PHP request of its
     * own (Classic\RequestLoop): the next job on $socket, or null once
     * Node closed the channel. A broken channel is thrown, not turned into
     * exit(): there, exit() would end the request, not the process.
     *
     * @throws ChannelException (a ProtocolException when Node broke the protocol)
     */
    public static function nextJobOn(\Socket $socket, int $maxFrameSize): ?Job
    {
        $channel = new Channel($socket, $maxFrameSize);
        $frame = self::nextJob($channel);
        return $frame === null ? null : new Job($frame->id, $frame->body, $frame->context, $channel);
    }

    private static function ready(\Socket $socket, int $maxFrameSize): Channel
    {
        $channel = new Channel($socket, $maxFrameSize);
        self::guarded(static fn () => $channel->control('ready', ['pid' => getmypid()]));
        return $channel;
    }

    /**
     * The next job frame, or null when Node closed the channel. A frame
     * whose context cannot be decoded is refused for that job alone:
     * nothing inside a job may end the worker.
     */
    private static function nextJob(Channel $channel): ?Frame
    {
        while (true) {
            try {
                $frame = $channel->read();
            } catch (InvalidContextException $e) {
                $channel->write($e->jobId, Frame::ERROR, self::describe($e), '');
                continue;
            }
            if ($frame === null || !$frame->isControl()) {
                return $frame; // no worker-side control messages in protocol 1
            }
        }
    }

    /** Runs $work; a broken channel ends the worker, as nobody is left to answer. */
    private static function guarded(\Closure $work): void
    {
        try {
            $work();
        } catch (ProtocolException $e) {
            fwrite(Runtime::stderr(), 'php-zygote worker ' . getmypid() . ': protocol error from Node: ' . $e->getMessage() . "\n");
            exit(ProtocolException::EXIT_CODE);
        } catch (ChannelException $e) {
            // The channel broke (Node went away): nobody is left to answer.
            fwrite(Runtime::stderr(), 'php-zygote worker ' . getmypid() . ': ' . $e->getMessage() . "\n");
            exit(0);
        }
    }

    private static function run(Channel $channel, Frame $frame, callable $handler): void
    {
        $job = new Job($frame->id, $frame->body, $frame->context, $channel);
        try {
            $result = $handler($job);
            if (is_string($result)) {
                $channel->write($frame->id, 0, [], $result);
            } elseif ($result instanceof Response) {
                $channel->write($frame->id, 0, $result->context, $result->body);
            } else {
                throw new \TypeError('the handler returned ' . get_debug_type($result) . '; return a string or a Zygote\\Response');
            }
        } catch (ChannelException $e) {
            throw $e; // the channel itself broke: nobody to answer
        } catch (\Throwable $e) {
            // The handler threw, or its answer could not be sent as it was
            // (context not encodable as JSON, frame over maxFrameSize):
            // nothing was written, so the job gets an error and the worker
            // goes on.
            $channel->write($frame->id, Frame::ERROR, self::describe($e), '');
        }
    }

    /**
     * @internal The context of an ERROR frame for $e.
     *
     * @return array{class: string, message: string, file: string, line: int, trace: string}
     */
    public static function describe(\Throwable $e): array
    {
        return [
            'class' => get_class($e),
            'message' => substr($e->getMessage(), 0, 65536),
            'file' => $e->getFile(),
            'line' => $e->getLine(),
            'trace' => substr($e->getTraceAsString(), 0, 16384),
        ];
    }
}
