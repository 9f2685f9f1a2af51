using System.Collections.Concurrent;
using Ingest.Kafka;
using Microsoft.Extensions.Logging;

namespace Ingest.Forwarding;

/// <summary>
/// The silo's one forwarding scheduler: a few workers take turns of the <see cref="TopicLog"/>s that have
/// something to do, in the order they asked, and one timer wakes the logs whose deadline (a back-off, a
/// checkpoint due) has come. Nothing runs for a log that has nothing to do: cost follows traffic, not
/// the number of topics.
/// <para>Fairness: a turn sends at most a share (<see cref="ForwardingSettings.RecordsPerTurn"/>); a log
/// with more waiting goes to the back of the queue, so one topic's big backlog does not delay another's
/// fresh records. Each log has at most one turn running, which is what lets a log keep its state
/// without locks: <see cref="TopicLog.ScheduleState"/> goes Idle → Queued → Running (→ RunningSignaled
/// if woken meanwhile, which queues it again when the turn ends).</para>
/// </summary>
internal sealed class ForwardingScheduler : IAsyncDisposable
{
    private const int Idle = 0;
    private const int Queued = 1;
    private const int Running = 2;
    private const int RunningSignaled = 3;
    private const int Done = 4;

    private readonly ConcurrentQueue<TopicLog> _ready = new();
    private readonly SemaphoreSlim _available = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly PriorityQueue<TopicLog, long> _deadlines = new();
    private readonly Lock _deadlineGate = new();
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ITimer _timer;
    private readonly int _workerCount;
    private Task[] _workers = [];
    private long _timerDue = long.MaxValue;

    /// <param name="workers">Workers: by default one per core, up to 4 (a turn reads files and hands records to the producer; both are quick).</param>
    public ForwardingScheduler(ShippingContext context, int workers = 0)
    {
        _workerCount = workers > 0 ? workers : Math.Clamp(Environment.ProcessorCount, 1, 4);
        _time = context.Time;
        _logger = context.Logger;
        _timer = _time.CreateTimer(_ => WakeDue(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public void Start()
    {
        if (_workers.Length == 0 && !_stop.IsCancellationRequested)
        {
            _workers = [.. Enumerable.Range(0, _workerCount).Select(_ => Task.Run(WorkAsync))];
        }
    }

    /// <summary>Turns run since start (for tests and benchmarks of the idle cost).</summary>
    public long Turns => Interlocked.Read(ref _turns);

    private long _turns;

    /// <summary>Registers <paramref name="log"/>: from now on its signals and reports give it turns.</summary>
    public void Add(TopicLog log) => log.Wake = Signal;

    /// <summary>Asks for a turn of <paramref name="log"/> (any thread; cheap when it is already queued or running).</summary>
    public void Signal(TopicLog log)
    {
        while (true)
        {
            switch (Volatile.Read(ref log.ScheduleState))
            {
                case Idle when Interlocked.CompareExchange(ref log.ScheduleState, Queued, Idle) == Idle:
                    Enqueue(log);
                    return;
                case Running when Interlocked.CompareExchange(ref log.ScheduleState, RunningSignaled, Running) == Running:
                    return;
                case Queued or RunningSignaled or Done:
                    return;
            }
        }
    }

    /// <summary>Runs <paramref name="action"/> on <paramref name="log"/> when no turn of it is running, and keeps turns off it meanwhile.</summary>
    public bool TryExclusive(TopicLog log, Action action)
    {
        if (Interlocked.CompareExchange(ref log.ScheduleState, Running, Idle) != Idle)
        {
            return false;
        }

        try
        {
            action();
        }
        finally
        {
            EndTurn(log, Turn.Idle);
        }

        return true;
    }

    private void Enqueue(TopicLog log)
    {
        _ready.Enqueue(log);
        _available.Release();
    }

    private async Task WorkAsync()
    {
        while (true)
        {
            try
            {
                await _available.WaitAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (!_ready.TryDequeue(out var log))
            {
                continue;
            }

            Volatile.Write(ref log.ScheduleState, Running);
            Turn turn;
            try
            {
                turn = log.Serve();
            }
            catch (Exception e)
            {
                KafkaLog.TurnFailed(_logger, e, log.Topic);
                turn = Turn.WaitFor(TimeSpan.FromSeconds(1));
            }

            Interlocked.Increment(ref _turns);
            EndTurn(log, turn);
        }
    }

    private void EndTurn(TopicLog log, Turn turn)
    {
        if (turn.Done)
        {
            Volatile.Write(ref log.ScheduleState, Done);
            return;
        }

        if (turn.Wait is { } wait)
        {
            SetDeadline(log, wait);
        }

        if (turn.More || Interlocked.CompareExchange(ref log.ScheduleState, Idle, Running) != Running)
        {
            // More is ready, or it was woken during the turn: queue it again, behind the others.
            Volatile.Write(ref log.ScheduleState, Queued);
            Enqueue(log);
        }
    }

    /// <summary>Wakes <paramref name="log"/> after <paramref name="wait"/> unless an earlier deadline is set.</summary>
    private void SetDeadline(TopicLog log, TimeSpan wait)
    {
        var due = _time.GetTimestamp() + (long)(Math.Max(0, wait.TotalSeconds) * _time.TimestampFrequency);
        lock (_deadlineGate)
        {
            if (log.Deadline != 0 && log.Deadline <= due)
            {
                return;
            }

            log.Deadline = due;
            _deadlines.Enqueue(log, due);
            if (due < _timerDue)
            {
                ArmLocked(due);
            }
        }
    }

    private void WakeDue()
    {
        List<TopicLog> due = [];
        lock (_deadlineGate)
        {
            var now = _time.GetTimestamp();
            while (_deadlines.TryPeek(out var log, out var at) && at <= now)
            {
                _deadlines.Dequeue();
                if (log.Deadline == at)
                {
                    log.Deadline = 0;
                    due.Add(log);
                }
            }

            _timerDue = long.MaxValue;
            if (_deadlines.TryPeek(out _, out var next))
            {
                ArmLocked(next);
            }
        }

        foreach (var log in due)
        {
            Signal(log);
        }
    }

    private void ArmLocked(long due)
    {
        _timerDue = due;
        var wait = _time.GetElapsedTime(_time.GetTimestamp(), due);
        _timer.Change(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Stops the workers after the turns running now, for good; signals after this change nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync();
        await Task.WhenAll(_workers);
        await _timer.DisposeAsync();
    }
}
