// The reference calendar page at /calendar (its HTML: leko_bookings/ui.py, `calendar_page`).
//
// A page to read to learn the LE-KO Bookings API, not a product. Everything it shows comes from
// the public GraphQL API:
//   - queries and mutations: HTTP POST to /graphql, JSON {query, variables}, the header
//     `Authorization: Bearer <JWT>`;
//   - live updates: a WebSocket to the same /graphql speaking `graphql-transport-ws`, through the
//     vendored graphql-ws client (global `graphqlWs`); the token goes in `connection_init`'s
//     payload as {"Authorization": "Bearer <JWT>"}.
// No framework and no build step: the page's state is one object (`state`), `render()` draws
// the page from it, and every change (a query's answer, a mutation's, a subscription's message)
// updates `state` and calls `render()` again.
//
// Signing in: paste a token, or open /calendar#token=<JWT> (the demo's `leko-bookings seed`
// prints such links): the page moves the token from the URL to sessionStorage.

(function () {
  "use strict";

  // -- The GraphQL documents: one per operation -----------------------------------------------
  // The fields of a booking the page shows, shared by every operation that returns bookings.
  const BOOKING_FIELDS = /* GraphQL */ `
    fragment BookingFields on Booking {
      bookingId
      eventId
      userId
      coachId
      startAt
      endAt
      bookingStatus
      eventStatus
      completed
      cancellationReasonCode
      cancellationReasonText
    }`;

  // Who the token is: the user id and roles.
  const VIEWER_QUERY = /* GraphQL */ `
    query Viewer {
      viewer { userId roles }
    }`;

  // The viewer's own bookings (as an athlete) overlapping the shown range.
  const MY_BOOKINGS_QUERY = /* GraphQL */ `
    query MyBookings($userId: UUID!, $startAt: DateTime!, $endAt: DateTime!) {
      bookings(userId: $userId, startAt: $startAt, endAt: $endAt, first: 500) {
        nodes { ...BookingFields }
      }
    }
    ${BOOKING_FIELDS}`;

  // A coach's agenda: the bookings of the coach's events overlapping the shown range.
  const COACH_AGENDA_QUERY = /* GraphQL */ `
    query CoachAgenda($coachId: UUID!, $startAt: DateTime!, $endAt: DateTime!) {
      bookings(coachId: $coachId, startAt: $startAt, endAt: $endAt, first: 500) {
        nodes { ...BookingFields }
      }
    }
    ${BOOKING_FIELDS}`;

  // The catalog's events of the shown week, each with its seats and whether it can be booked.
  const WEEK_EVENTS_QUERY = /* GraphQL */ `
    query WeekEvents($from: DateTime!, $to: DateTime!) {
      events(from: $from, to: $to, first: 500) {
        nodes {
          eventId
          coachId
          sportId
          startAt
          endAt
          eventStatus
          seatsTaken
          seatsLeft
          bookable
          timeslot { numberOfParticipants price priceCurrency slotType level public }
        }
      }
    }`;

  // The viewer's unread notifications, newest first.
  const UNREAD_NOTIFICATIONS_QUERY = /* GraphQL */ `
    query UnreadNotifications {
      notifications(unreadOnly: true, first: 20) {
        totalCount
        nodes { notificationId message createdAt bookingId }
      }
    }`;

  // Book one or several events in one order: all of them or none. Expected failures are members
  // of the result union (every one implements the `Error` interface), not GraphQL `errors`.
  const BOOK_EVENTS_MUTATION = /* GraphQL */ `
    mutation BookEvents($userId: UUID!, $eventIds: [UUID!]!) {
      bookEvents(userId: $userId, eventIds: $eventIds, paymentMethod: { type: Cash }) {
        __typename
        ... on BookingOrder { orderId status bookings { ...BookingFields } }
        ... on BookingRefused { errors { eventId bookingError } }
        ... on Error { code message }
      }
    }
    ${BOOKING_FIELDS}`;

  // The athlete or the coach cancels before the start, with a reason.
  const CANCEL_BOOKING_MUTATION = /* GraphQL */ `
    mutation CancelBooking(
      $bookingId: UUID!
      $reasonCode: CancellationReasonCode!
      $reasonText: String
    ) {
      cancelBooking(bookingId: $bookingId, reasonCode: $reasonCode, reasonText: $reasonText) {
        __typename
        ... on Booking { ...BookingFields }
        ... on Error { code message }
      }
    }
    ${BOOKING_FIELDS}`;

  // The coach accepts a Pending booking.
  const ACCEPT_BOOKING_MUTATION = /* GraphQL */ `
    mutation AcceptBooking($bookingId: UUID!) {
      acceptBooking(bookingId: $bookingId) {
        __typename
        ... on Booking { ...BookingFields }
        ... on Error { code message }
      }
    }
    ${BOOKING_FIELDS}`;

  // The coach rejects a Pending booking.
  const REJECT_BOOKING_MUTATION = /* GraphQL */ `
    mutation RejectBooking($bookingId: UUID!) {
      rejectBooking(bookingId: $bookingId) {
        __typename
        ... on Booking { ...BookingFields }
        ... on Error { code message }
      }
    }
    ${BOOKING_FIELDS}`;

  // The coach marks an Accepted session completed once its event has ended.
  const MARK_COMPLETED_MUTATION = /* GraphQL */ `
    mutation MarkBookingAsCompleted($bookingId: UUID!) {
      markBookingAsCompleted(bookingId: $bookingId, completed: true) {
        __typename
        ... on Booking { ...BookingFields }
        ... on Error { code message }
      }
    }
    ${BOOKING_FIELDS}`;

  // Mark notifications read (ids of others' notifications are ignored).
  const MARK_NOTIFICATIONS_READ_MUTATION = /* GraphQL */ `
    mutation MarkNotificationsRead($ids: [UUID!]!) {
      markNotificationsRead(ids: $ids) {
        __typename
        ... on MarkedRead { updated }
        ... on Error { code message }
      }
    }`;

  // A new iCalendar feed URL for the viewer (the previous one stops working).
  const CREATE_CALENDAR_FEED_MUTATION = /* GraphQL */ `
    mutation CreateCalendarFeed {
      createCalendarFeed {
        __typename
        ... on CalendarFeed { url createdAt }
        ... on Error { code message }
      }
    }`;

  // Subscription: the seats of these events (at most 100) now, then whenever they change.
  const EVENT_AVAILABILITY_SUBSCRIPTION = /* GraphQL */ `
    subscription EventAvailability($eventIds: [UUID!]!) {
      eventAvailability(eventIds: $eventIds) { eventId seatsTaken seatsLeft }
    }`;

  // Subscription: every change to a booking where the viewer is the athlete or the event's
  // coach (a new booking, a status change, a move, an update), with the booking as it is now.
  const CALENDAR_CHANGES_SUBSCRIPTION = /* GraphQL */ `
    subscription CalendarChanges {
      calendarChanges {
        kind
        at
        booking { ...BookingFields }
      }
    }
    ${BOOKING_FIELDS}`;

  // -- Constants ---------------------------------------------------------------------------------
  const app = document.getElementById("calendar-app");
  const ENDPOINT = app.dataset.endpoint; // "/graphql", relative to this page's origin
  const TOKEN_KEY = "leko-bookings.token";
  const MAX_EVENT_IDS = 100; // eventAvailability takes at most 100 event ids
  const SEAT_HOLDING = new Set(["Pending", "Accepted", "InDispute"]);
  const CANCELABLE = new Set(["Pending", "Accepted"]);

  // -- State -------------------------------------------------------------------------------------
  const state = {
    token: null, // the bearer token (JWT)
    viewer: null, // {userId, roles}
    view: "week", // "week" or "month"
    anchor: startOfDay(new Date()), // a day inside the shown range
    bookings: new Map(), // bookingId -> booking: the viewer's own and (coach) their agenda's
    events: new Map(), // eventId -> event of the shown week (week view only)
    liveSeats: new Set(), // eventIds whose seats came from the subscription
    selected: new Set(), // eventIds ticked for one order
    notifications: [],
    unreadCount: 0,
    cancelling: null, // the booking the cancel dialog is about
  };

  // -- Talking to the API over HTTP --------------------------------------------------------------

  class ApiError extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  // One GraphQL operation over HTTP POST. A request the server refuses before running it (no or
  // bad token: 401, rate limit: 429, ...) and any entry in `errors` throw an ApiError; expected
  // domain failures come back as union members in `data` for the caller to read.
  async function graphql(query, variables = {}) {
    const response = await fetch(ENDPOINT, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        Authorization: `Bearer ${state.token}`,
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = await response.json();
    if (body.errors && body.errors.length) {
      throw new ApiError(body.errors.map((e) => e.message).join("; "), response.status);
    }
    return body.data;
  }

  // A mutation's result: the object when it is of `typename`, else an ApiError with the
  // union member's message (ValidationError, ForbiddenError, NotFoundError, ...).
  function ofType(result, typename) {
    if (result.__typename !== typename) {
      throw new ApiError(result.message || `Unexpected answer: ${result.__typename}`, 200);
    }
    return result;
  }

  // -- Live updates over the WebSocket -----------------------------------------------------------

  let live = null; // the graphql-ws client
  let stopSeats = []; // functions that end the eventAvailability subscriptions

  function websocketUrl() {
    const url = new URL(ENDPOINT, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url.href;
  }

  function connectLive() {
    // A client's events matter while it is the page's client (not after signing out).
    let client = null;
    const current = () => client !== null && live === client;
    setLive("connecting");
    client = graphqlWs.createClient({
      url: websocketUrl(),
      connectionParams: () => ({ Authorization: `Bearer ${state.token}` }),
      lazy: false, // connect now, to show whether live updates are on
      keepAlive: 20000, // ping every 20 s to notice a dead connection
      retryAttempts: 8,
      // 4403: the token was refused or expired; connecting again would not help.
      shouldRetry: (closeEvent) => closeEvent.code !== 4403,
      onNonLazyError: (error) => current() && setLive("offline", describe(error)),
      on: {
        connecting: () => current() && setLive("connecting"),
        connected: (_socket, _payload, wasRetry) => {
          if (!current()) return;
          setLive("live");
          // Changes made while the socket was down were not sent: read the range again.
          if (wasRetry) loadRange().catch(showError);
        },
        closed: (event) => current() && setLive("offline", describe(event)),
      },
    });
    live = client;
    live.subscribe(
      { query: CALENDAR_CHANGES_SUBSCRIPTION },
      {
        next: (result) => {
          if (result.errors) showError(new Error(describe(result.errors)));
          else onCalendarChange(result.data.calendarChanges);
        },
        error: (error) => showError(new Error(`Calendar changes stopped: ${describe(error)}`)),
        complete: () => {},
      },
    );
  }

  // Follow the seats of the shown week's events (at most 100 ids per subscription).
  function followSeats() {
    stopSeats.forEach((stop) => stop());
    stopSeats = [];
    state.liveSeats.clear();
    if (!live || state.view !== "week") return;
    const ids = [...state.events.keys()];
    for (let i = 0; i < ids.length; i += MAX_EVENT_IDS) {
      const eventIds = ids.slice(i, i + MAX_EVENT_IDS);
      const stop = live.subscribe(
        { query: EVENT_AVAILABILITY_SUBSCRIPTION, variables: { eventIds } },
        {
          next: (result) => {
            if (result.data) onSeats(result.data.eventAvailability);
          },
          error: (error) => showError(new Error(`Seats stopped: ${describe(error)}`)),
          complete: () => {},
        },
      );
      stopSeats.push(stop);
    }
  }

  // A booking changed (or was created): keep the newest state of it and draw again.
  function onCalendarChange(change) {
    state.bookings.set(change.booking.bookingId, change.booking);
    const indicator = document.getElementById("live");
    indicator.dataset.lastChange = change.kind;
    indicator.title = `Last change: ${change.kind}, ${formatDateTime(new Date(change.at))}`;
    renderCalendar();
    renderEvents();
    refreshNotifications(); // a change may have brought a notification
  }

  // An event's seats changed.
  function onSeats(seats) {
    const event = state.events.get(seats.eventId);
    if (!event) return;
    event.seatsTaken = seats.seatsTaken;
    event.seatsLeft = seats.seatsLeft;
    state.liveSeats.add(seats.eventId);
    renderEvents();
  }

  // What went wrong, from an Error, a list of GraphQL errors or a WebSocket CloseEvent.
  function describe(error) {
    if (Array.isArray(error)) return error.map((e) => e.message).join("; ");
    if (error && typeof error.code === "number") {
      return `connection closed (${error.code}${error.reason ? `: ${error.reason}` : ""})`;
    }
    return error && error.message ? error.message : String(error);
  }

  function setLive(mode, why) {
    const element = document.getElementById("live");
    element.dataset.state = mode;
    const words = { live: "on", connecting: "connecting…", offline: "off" };
    element.textContent = `Live updates: ${words[mode]}${why && mode === "offline" ? ` (${why})` : ""}`;
  }

  // -- Loading -----------------------------------------------------------------------------------

  let loads = 0; // the number of the latest load: an older one's answer is dropped

  // The shown range's bookings (and in the week view its events), read again.
  async function loadRange() {
    const load = ++loads;
    const { start, end } = visibleRange();
    const range = { startAt: start.toISOString(), endAt: end.toISOString() };
    const me = state.viewer.userId;
    const reads = [graphql(MY_BOOKINGS_QUERY, { userId: me, ...range })];
    if (hasRole("coach")) reads.push(graphql(COACH_AGENDA_QUERY, { coachId: me, ...range }));
    const eventsRead =
      state.view === "week"
        ? graphql(WEEK_EVENTS_QUERY, { from: range.startAt, to: range.endAt })
        : Promise.resolve(null);
    const [lists, events] = await Promise.all([Promise.all(reads), eventsRead]);
    if (load !== loads) return; // the viewer moved on meanwhile
    state.bookings = new Map();
    for (const list of lists) {
      for (const booking of list.bookings.nodes) state.bookings.set(booking.bookingId, booking);
    }
    state.events = new Map();
    if (events) {
      const now = new Date();
      for (const event of events.events.nodes) {
        // The server says whether an order could take a seat (`bookable`) when the week is
        // read; the subscription then moves only the seats. An event full when read counts as
        // open again when a seat frees up if it is scheduled and in the future (the server
        // has the last word when it is booked).
        event.openWhenRead =
          event.bookable ||
          (event.seatsLeft === 0 &&
            event.eventStatus === "Scheduled" &&
            new Date(event.startAt) > now);
        state.events.set(event.eventId, event);
      }
    }
    for (const id of [...state.selected]) if (!state.events.has(id)) state.selected.delete(id);
    render();
    followSeats();
  }

  async function loadNotifications() {
    const data = await graphql(UNREAD_NOTIFICATIONS_QUERY);
    state.notifications = data.notifications.nodes;
    state.unreadCount = data.notifications.totalCount;
    renderNotifications();
  }

  // Read the notifications again; calls made while a read is running make one more read.
  let notificationsReading = null;
  let notificationsAgain = false;
  function refreshNotifications() {
    if (notificationsReading) {
      notificationsAgain = true;
      return;
    }
    notificationsReading = loadNotifications()
      .catch(showError)
      .finally(() => {
        notificationsReading = null;
        if (notificationsAgain) {
          notificationsAgain = false;
          refreshNotifications();
        }
      });
  }

  // -- Actions -----------------------------------------------------------------------------------

  async function bookEvents(eventIds) {
    const data = await graphql(BOOK_EVENTS_MUTATION, { userId: state.viewer.userId, eventIds });
    const result = data.bookEvents;
    if (result.__typename === "BookingRefused") {
      const why = result.errors.map((e) => `${short(e.eventId)}: ${e.bookingError}`).join(", ");
      throw new ApiError(`${result.message} (${why})`, 200);
    }
    const order = ofType(result, "BookingOrder");
    for (const booking of order.bookings) state.bookings.set(booking.bookingId, booking);
    for (const id of eventIds) state.selected.delete(id);
    say(`Booked ${eventIds.length} event(s): order ${short(order.orderId)} is ${order.status}.`);
    render();
  }

  // accept, reject, complete, cancel: each answers the booking as it is now.
  async function changeBooking(mutation, field, variables, done) {
    const data = await graphql(mutation, variables);
    const booking = ofType(data[field], "Booking");
    state.bookings.set(booking.bookingId, booking);
    say(done);
    render();
  }

  async function markAllRead() {
    const ids = state.notifications.map((n) => n.notificationId);
    if (!ids.length) return;
    const data = await graphql(MARK_NOTIFICATIONS_READ_MUTATION, { ids });
    ofType(data.markNotificationsRead, "MarkedRead");
    await loadNotifications();
  }

  async function createFeed() {
    const data = await graphql(CREATE_CALENDAR_FEED_MUTATION);
    const feed = ofType(data.createCalendarFeed, "CalendarFeed");
    const input = document.getElementById("feed-url");
    input.value = feed.url;
    input.hidden = false;
    input.select();
    say("A new calendar feed URL: add it to a calendar app (the previous URL stopped working).");
  }

  function openCancelDialog(booking) {
    state.cancelling = booking;
    document.getElementById("cancel-what").textContent =
      `${formatDay(new Date(booking.startAt))}, ${formatTime(new Date(booking.startAt))}`;
    document.getElementById("cancel-text").value = "";
    const dialog = document.getElementById("cancel-dialog");
    dialog.returnValue = ""; // closing with Escape keeps the previous value: clear it
    dialog.showModal();
  }

  function onCancelDialogClosed() {
    const dialog = document.getElementById("cancel-dialog");
    const booking = state.cancelling;
    state.cancelling = null;
    if (dialog.returnValue !== "confirm" || !booking) return;
    const text = document.getElementById("cancel-text").value.trim();
    const variables = {
      bookingId: booking.bookingId,
      reasonCode: document.getElementById("cancel-reason").value,
      reasonText: text || null,
    };
    act(() => changeBooking(CANCEL_BOOKING_MUTATION, "cancelBooking", variables, "Canceled."));
  }

  // Run an action, showing its failure.
  function act(work) {
    work().catch(showError);
  }

  // -- Signing in and out ------------------------------------------------------------------------

  // A token in the URL's fragment (#token=...) is moved to sessionStorage and off the URL.
  function tokenFromLink() {
    const params = new URLSearchParams(window.location.hash.slice(1));
    const token = params.get("token");
    if (token) {
      history.replaceState(null, "", window.location.pathname + window.location.search);
    }
    return token;
  }

  async function signIn(token) {
    state.token = token;
    const data = await graphql(VIEWER_QUERY);
    if (!data.viewer) throw new ApiError("This token names no user.", 200);
    state.viewer = data.viewer;
    sessionStorage.setItem(TOKEN_KEY, token);
    document.getElementById("sign-in").hidden = true;
    document.getElementById("sign-out").hidden = false;
    app.hidden = false;
    render();
    connectLive(); // subscribe first, then read: no change falls between the two
    await loadRange();
    refreshNotifications();
  }

  function signOut(why) {
    if (live) live.dispose();
    live = null;
    stopSeats = [];
    sessionStorage.removeItem(TOKEN_KEY);
    Object.assign(state, { token: null, viewer: null, bookings: new Map(), events: new Map() });
    state.selected.clear();
    app.hidden = true;
    document.getElementById("sign-out").hidden = true;
    document.getElementById("who").textContent = "";
    document.getElementById("feed-url").hidden = true;
    setLive("offline");
    showSignIn(why);
  }

  function showSignIn(why) {
    document.getElementById("sign-in").hidden = false;
    document.getElementById("sign-in-error").textContent = why || "";
  }

  // -- Drawing -----------------------------------------------------------------------------------

  function render() {
    renderHeader();
    renderCalendar();
    renderEvents();
    renderNotifications();
  }

  function renderHeader() {
    const viewer = state.viewer;
    document.getElementById("who").textContent = viewer
      ? `Signed in as ${viewer.userId} (${viewer.roles.join(", ")})`
      : "";
    const { start, end } = visibleRange();
    document.getElementById("range-title").textContent =
      state.view === "week"
        ? `${formatDay(start)} – ${formatDay(addDays(end, -1))}`
        : new Intl.DateTimeFormat(undefined, { month: "long", year: "numeric" }).format(
            state.anchor,
          );
    document.getElementById("week-view").setAttribute("aria-pressed", state.view === "week");
    document.getElementById("month-view").setAttribute("aria-pressed", state.view === "month");
    document.getElementById("events-section").hidden = state.view !== "week";
  }

  // The week (7 days) or month (6 weeks) grid, each day with its bookings by start.
  function renderCalendar() {
    const { start, end } = visibleRange();
    const byDay = new Map();
    for (const booking of [...state.bookings.values()].sort(byStart)) {
      const key = dayKey(new Date(booking.startAt));
      if (!byDay.has(key)) byDay.set(key, []);
      byDay.get(key).push(booking);
    }
    const today = dayKey(new Date());
    const month = state.anchor.getMonth();
    const days = [];
    for (let day = start; day < end; day = addDays(day, 1)) {
      const key = dayKey(day);
      const bookings = byDay.get(key) || [];
      const compact = state.view === "month";
      const title = compact
        ? h("button", { type: "button", onclick: () => showWeekOf(day) }, String(day.getDate()))
        : formatDay(day);
      const classes = ["day"];
      if (key === today) classes.push("today");
      if (compact && day.getMonth() !== month) classes.push("outside");
      days.push(
        h(
          "div",
          { class: classes.join(" "), "data-date": key, "data-testid": "day" },
          h("h3", {}, title),
          bookings.length
            ? bookings.map((b) => bookingCard(b, compact))
            : compact
              ? null
              : h("p", { class: "empty" }, "No bookings"),
        ),
      );
    }
    const grid = h("div", { class: state.view, "data-testid": `${state.view}-grid` }, days);
    document.getElementById("calendar").replaceChildren(grid);
  }

  // One booking: when, its status, with whom, and what the viewer may do with it.
  function bookingCard(booking, compact) {
    const me = state.viewer.userId;
    const coaching = booking.coachId === me; // the viewer is the event's coach
    const status = booking.bookingStatus;
    const start = new Date(booking.startAt);
    const end = new Date(booking.endAt);
    const now = new Date();
    const id = booking.bookingId;
    const actions = [];
    if (!compact && coaching && status === "Pending") {
      actions.push(
        button("Accept", "accept", () =>
          changeBooking(ACCEPT_BOOKING_MUTATION, "acceptBooking", { bookingId: id }, "Accepted."),
        ),
        button("Reject", "reject", () =>
          changeBooking(REJECT_BOOKING_MUTATION, "rejectBooking", { bookingId: id }, "Rejected."),
        ),
      );
    }
    if (!compact && coaching && status === "Accepted" && end <= now && !booking.completed) {
      actions.push(
        button("Mark completed", "complete", () =>
          changeBooking(
            MARK_COMPLETED_MUTATION,
            "markBookingAsCompleted",
            { bookingId: id },
            "Marked completed.",
          ),
        ),
      );
    }
    if (!compact && CANCELABLE.has(status) && start > now) {
      actions.push(
        h(
          "button",
          { type: "button", "data-testid": "cancel", onclick: () => openCancelDialog(booking) },
          "Cancel…",
        ),
      );
    }
    return h(
      "article",
      {
        class: "booking",
        "data-testid": "booking",
        "data-booking-id": id,
        "data-event-id": booking.eventId,
        "data-status": status,
        "data-as": coaching ? "coach" : "athlete",
      },
      h("span", { class: "when" }, `${formatTime(start)}–${formatTime(end)}`),
      " ",
      h(
        "span",
        { class: "status", "data-testid": "booking-status" },
        status + (booking.completed ? " ✓ completed" : ""),
      ),
      compact
        ? null
        : h(
            "span",
            { class: "who" },
            coaching ? `athlete ${short(booking.userId)}` : `coach ${short(booking.coachId)}`,
          ),
      compact || !booking.cancellationReasonCode
        ? null
        : h(
            "span",
            { class: "who" },
            `reason: ${booking.cancellationReasonCode}` +
              (booking.cancellationReasonText ? ` (${booking.cancellationReasonText})` : ""),
          ),
      actions.length ? h("div", { class: "actions" }, actions) : null,
    );
  }

  function button(label, testid, work) {
    return h("button", { type: "button", "data-testid": testid, onclick: () => act(work) }, label);
  }

  // The shown week's events: seats left, and (athlete) booking one or several.
  function renderEvents() {
    if (state.view !== "week" || !state.viewer) return;
    const me = state.viewer.userId;
    const athlete = hasRole("athlete");
    const mine = new Map(); // eventId -> the viewer's seat-holding booking in it
    for (const b of state.bookings.values()) {
      if (b.userId === me && SEAT_HOLDING.has(b.bookingStatus)) mine.set(b.eventId, b);
    }
    const rows = [...state.events.values()].sort(byStart).map((event) => {
      const booked = mine.get(event.eventId);
      const own = event.coachId === me;
      const open = isOpen(event);
      const canBook = athlete && !own && !booked && open;
      if (!canBook) state.selected.delete(event.eventId);
      const start = new Date(event.startAt);
      const slot = event.timeslot;
      let action;
      if (canBook) {
        action = button("Book", "book-event", () => bookEvents([event.eventId]));
      } else if (booked) {
        action = h("span", { "data-testid": "booked" }, `Booked: ${booked.bookingStatus}`);
      } else if (own) {
        action = "Your event";
      } else {
        action = event.seatsLeft === 0 ? "Full" : open ? "" : "Closed";
      }
      return h(
        "tr",
        {
          "data-testid": "event",
          "data-event-id": event.eventId,
          "data-seats-left": event.seatsLeft,
          "data-live": state.liveSeats.has(event.eventId) ? "yes" : "no",
          class: event.seatsLeft === 0 ? "full" : null,
        },
        h(
          "td",
          {},
          canBook
            ? h("input", {
                type: "checkbox",
                "data-testid": "select-event",
                "aria-label": "Tick to book in one order",
                checked: state.selected.has(event.eventId),
                onchange: (e) => {
                  if (e.target.checked) state.selected.add(event.eventId);
                  else state.selected.delete(event.eventId);
                  renderBookSelected();
                },
              })
            : null,
        ),
        h("td", {}, `${formatDay(start)} ${formatTime(start)}–${formatTime(new Date(event.endAt))}`),
        h("td", {}, own ? "you" : short(event.coachId)),
        h("td", {}, short(event.sportId)),
        // A private slot's bookings wait for the coach (Pending); a public one's are Accepted.
        h("td", {}, `${slot.slotType}, ${slot.level || "Any"}, ${privacy(slot)}`),
        h("td", {}, `${slot.price} ${slot.priceCurrency}`),
        h(
          "td",
          { "data-testid": "seats-left" },
          `${event.seatsLeft} of ${slot.numberOfParticipants}`,
        ),
        h("td", {}, action),
      );
    });
    const body = document.querySelector("#events tbody");
    body.replaceChildren(
      ...(rows.length ? rows : [h("tr", {}, h("td", { colspan: 8 }, "No events this week"))]),
    );
    renderBookSelected();
  }

  function renderBookSelected() {
    const bookSelected = document.getElementById("book-selected");
    bookSelected.disabled = state.selected.size === 0;
    bookSelected.textContent = `Book the ticked events (${state.selected.size}) in one order`;
  }

  // Whether an order could take a seat now (see `openWhenRead` in loadRange).
  function isOpen(event) {
    return event.openWhenRead && event.seatsLeft > 0;
  }

  function renderNotifications() {
    document.getElementById("unread-count").textContent = String(state.unreadCount);
    const items = state.notifications.map((n) =>
      h(
        "li",
        { "data-testid": "notification", "data-notification-id": n.notificationId },
        n.message,
        h("time", { datetime: n.createdAt }, formatDateTime(new Date(n.createdAt))),
      ),
    );
    document.getElementById("notifications").replaceChildren(...items);
    document.getElementById("mark-read").disabled = items.length === 0;
  }

  function showWeekOf(day) {
    state.view = "week";
    state.anchor = startOfDay(day);
    reload();
  }

  function reload() {
    render();
    loadRange().catch(showError);
  }

  // -- Messages ----------------------------------------------------------------------------------

  function say(text) {
    const message = document.getElementById("message");
    message.classList.remove("error");
    message.textContent = text;
  }

  function showError(error) {
    if (error instanceof ApiError && error.status === 401) {
      signOut(`Signed out: ${error.message}`);
      return;
    }
    const message = document.getElementById("message");
    message.classList.add("error");
    message.textContent = error.message || String(error);
  }

  // -- Dates (the browser's time zone; weeks start on Monday) ------------------------------------

  function startOfDay(d) {
    return new Date(d.getFullYear(), d.getMonth(), d.getDate());
  }

  function addDays(d, days) {
    return new Date(d.getFullYear(), d.getMonth(), d.getDate() + days);
  }

  function startOfWeek(d) {
    return addDays(startOfDay(d), -((d.getDay() + 6) % 7));
  }

  // [start, end) of the shown week, or of the six weeks that show the anchor's month.
  function visibleRange() {
    if (state.view === "week") {
      const start = startOfWeek(state.anchor);
      return { start, end: addDays(start, 7) };
    }
    const start = startOfWeek(new Date(state.anchor.getFullYear(), state.anchor.getMonth(), 1));
    return { start, end: addDays(start, 42) };
  }

  function dayKey(d) {
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  }

  const dayFormat = new Intl.DateTimeFormat(undefined, {
    weekday: "short",
    day: "numeric",
    month: "short",
  });
  const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  const formatDay = (d) => dayFormat.format(d);
  const formatTime = (d) => timeFormat.format(d);
  const formatDateTime = (d) => `${formatDay(d)} ${formatTime(d)}`;
  const byStart = (a, b) => a.startAt.localeCompare(b.startAt);

  // -- Small helpers -----------------------------------------------------------------------------

  // An element with attributes (`on...`: a listener; true: present; false or null: absent) and
  // children (strings become text: nothing from the API is ever parsed as HTML).
  function h(tag, attributes, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
      else element.setAttribute(name, value === true ? "" : String(value));
    }
    element.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== ""));
    return element;
  }

  const short = (uuid) => uuid.slice(0, 8);
  const privacy = (slot) => (slot.public === false ? "private" : "public");
  const hasRole = (role) => state.viewer.roles.includes(role);

  // -- Wiring ------------------------------------------------------------------------------------

  document.getElementById("sign-in").addEventListener("submit", (e) => {
    e.preventDefault();
    const token = document.getElementById("token").value.trim();
    signIn(token).catch((error) => signOut(error.message));
  });
  document.getElementById("sign-out").addEventListener("click", () => signOut());
  document.getElementById("previous").addEventListener("click", () => {
    state.anchor =
      state.view === "week"
        ? addDays(state.anchor, -7)
        : new Date(state.anchor.getFullYear(), state.anchor.getMonth() - 1, 1);
    reload();
  });
  document.getElementById("next").addEventListener("click", () => {
    state.anchor =
      state.view === "week"
        ? addDays(state.anchor, 7)
        : new Date(state.anchor.getFullYear(), state.anchor.getMonth() + 1, 1);
    reload();
  });
  document.getElementById("today").addEventListener("click", () => {
    state.anchor = startOfDay(new Date());
    reload();
  });
  document.getElementById("week-view").addEventListener("click", () => {
    state.view = "week";
    reload();
  });
  document.getElementById("month-view").addEventListener("click", () => {
    state.view = "month";
    reload();
  });
  document.getElementById("book-selected").addEventListener("click", () => {
    act(() => bookEvents([...state.selected]));
  });
  document.getElementById("mark-read").addEventListener("click", () => act(markAllRead));
  document.getElementById("create-feed").addEventListener("click", () => act(createFeed));
  document.getElementById("cancel-dialog").addEventListener("close", onCancelDialogClosed);

  const token = tokenFromLink() || sessionStorage.getItem(TOKEN_KEY);
  if (token) signIn(token).catch((error) => signOut(error.message));
  else showSignIn();
})();
