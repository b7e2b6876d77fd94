<?php

declare(strict_types=1);

namespace Zygote\Http;

use Zygote\Job;
use Zygote\Response as JobResponse;
use Zygote\Zygote;

/**
 * Serves HTTP requests from php-zygote's HTTP front (createRequestHandler
 * or `php-zygote serve`). The handler gets a Request and returns a
 * Response or a string (200, text/html), or streams with the
 * ResponseStream it is given.
 *
 *   \Zygote\Http\Server::serve(function (Request $request, ResponseStream $stream) use ($app) {
 *       return Response::json(['path' => $request->path]);
 *   });
 */
final class Server
{
    /** @param callable(Request, ResponseStream): (Response|string|null) $handler */
    public static function serve(callable $handler): never
    {
        Zygote::serve(static fn (Job $job): JobResponse => self::handle($job, $handler));
    }

    /** @internal Turns one job into a request, and the handler's result into the final frame. */
    public static function handle(Job $job, callable $handler): JobResponse
    {
        $stream = new ResponseStream($job);
        $result = $handler(Request::fromJob($job), $stream);
        if ($stream->started()) {
            return new JobResponse(is_string($result) ? $result : '');
        }
        if ($result instanceof Response) {
            return new JobResponse($result->body, ['status' => $result->status, 'headers' => Response::headerPairs($result->headers)]);
        }
        return new JobResponse((string) $result, ['status' => 200, 'headers' => [['content-type', 'text/html; charset=UTF-8']]]);
    }
}
