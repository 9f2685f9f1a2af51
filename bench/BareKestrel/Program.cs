// Reference for the benchmark: what Kestrel alone costs for the same request on the same host.
// Reads the whole body (as Ingest must) and answers 202 with the same JSON, storing nothing.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
var app = builder.Build();
var accepted = """{"accepted":1,"durability":"flush"}"""u8.ToArray();
app.MapPost("/v1/topics/{topic}", async (HttpContext context) =>
{
    var reader = context.Request.BodyReader;
    while (true)
    {
        var read = await reader.ReadAsync();
        reader.AdvanceTo(read.Buffer.End);
        if (read.IsCompleted)
        {
            break;
        }
    }

    context.Response.StatusCode = 202;
    context.Response.ContentType = "application/json";
    context.Response.ContentLength = accepted.Length;
    await context.Response.Body.WriteAsync(accepted);
});
app.Run();
