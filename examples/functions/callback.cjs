// A CommonJS handler in the callback style. With context.callbackWaitsForEmptyEventLoop (the default) Lambda holds
// the result until the event loop is empty: the timer below delays the answer. `noWait` turns that off.

exports.handler = (event, context, callback) => {
  const started = Date.now();
  setTimeout(() => console.log('timer done'), event.delayMs ?? 0);
  callback(null, { style: 'callback', module: typeof module, started });
};

exports.noWait = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = false;
  setTimeout(() => console.log('timer done'), event.delayMs ?? 0);
  callback(null, { waited: false });
};

exports.fails = (event, context, callback) => {
  callback(new TypeError('bad input'));
};

exports.legacy = (event, context) => {
  context.succeed({ legacy: true });
};
