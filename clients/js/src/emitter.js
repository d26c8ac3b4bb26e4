// Emitter: the small typed-event base of Client and Subscription. Listeners run synchronously
// in registration order; one that throws does not stop the others (its error is reported
// on the next tick, as an uncaught error, so an app bug is never swallowed).
export class Emitter {
  constructor() {
    /** @type {Map<string, Function[]>} */
    this._listeners = new Map();
  }

  /** Adds a listener; returns a function that removes it. */
  on(event, fn) {
    const list = this._listeners.get(event) || [];
    list.push(fn);
    this._listeners.set(event, list);
    return () => this.off(event, fn);
  }

  /** Adds a listener that runs once. */
  once(event, fn) {
    const off = this.on(event, (...args) => {
      off();
      fn(...args);
    });
    return off;
  }

  off(event, fn) {
    const list = this._listeners.get(event);
    if (list) this._listeners.set(event, list.filter((f) => f !== fn));
  }

  _emit(event, ...args) {
    for (const fn of this._listeners.get(event) || []) {
      try {
        fn(...args);
      } catch (e) {
        setTimeout(() => {
          throw e;
        });
      }
    }
  }
}
